"""A LiteLLM callback that spends a fixed CPU time per event and records nothing: a calibration.

``bench/config_burn.yaml`` names ``burn_callback.sigil_handler``; ``BENCH_BURN_US`` (default 150) is the CPU
time in µs it spends on the event loop for each successful request, in a loop that allocates nothing and
touches no memory. ``python -m bench.paired --pair null burn`` then shows what that many µs of a callback's
CPU per event cost the proxy's throughput however they are spent: the bound below which a telemetry
callback has to stay for a throughput target (docs/cpu-profile.md, *Round five*). ``BENCH_BURN_KB`` (default
0) first copies that many KiB within the same time: what the CPU's caches left cold cost LiteLLM after it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

BURN_SECONDS = int(os.environ.get("BENCH_BURN_US", "150")) / 1e6
SPAN = bytearray(int(os.environ.get("BENCH_BURN_KB", "0")) * 1024)


class BurnCallback(CustomLogger):
    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        until = time.thread_time() + BURN_SECONDS
        if SPAN:
            bytes(SPAN)  # read and write len(SPAN) bytes: the caches hold them, not what LiteLLM had there
        while time.thread_time() < until:
            pass


sigil_handler = BurnCallback()
