"""The sink's web page (``page.html`` beside this file): received generations newest first, one in detail.

The page reads the sink's own read-back API and refreshes itself every two seconds; every value is
inserted as text (never as HTML), so recorded prompts cannot inject markup.
"""

from pathlib import Path

HTML = (Path(__file__).parent / "page.html").read_text(encoding="utf-8")
