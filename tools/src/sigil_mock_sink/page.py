"""The sink's web page (``page.html`` beside this file): received generations newest first, one in detail
with its trace (the spans the OTLP receiver got with the generation's trace id, its own span marked).

The page reads the sink's own read-back API and refreshes itself every two seconds; every value is
inserted as text (never as HTML), so recorded prompts cannot inject markup.
"""

from pathlib import Path

HTML = (Path(__file__).parent / "page.html").read_text(encoding="utf-8")
