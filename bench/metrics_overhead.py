"""Pipeline metrics on vs off: ``python -m bench.metrics_overhead [--rounds N] [--duration S]``.

:mod:`bench.paired` with the pair "ours" (metrics off: no PROMETHEUS_MULTIPROC_DIR) and "metrics" (the
same with the directory, so SIGIL_METRICS=auto records every ``sigil_litellm_*`` metric), short chats
at saturation, both proxies loaded at once.
"""

from __future__ import annotations

import sys

from bench.paired import main

if __name__ == "__main__":
    raise SystemExit(main(default_pairs=[["ours", "metrics"]], argv=sys.argv[1:]))
