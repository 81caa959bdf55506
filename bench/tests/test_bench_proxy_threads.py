"""bench.proxy_threads: threads grouped by job, and its table of medians."""

from __future__ import annotations

import os

from bench.proxy_threads import table, thread_cpu, thread_group


def _run(loop: float, full_gc: float, count: int, handler: float | None = None) -> dict[str, object]:
    return {
        "handler_us_per_event": handler,
        "threads_us_per_request": {"event loop (main thread)": loop, "sigil-delivery (gRPC sender)": 5.0},
        "total_us_per_request": loop + 5.0,
        "gc": {
            "0": {"us_per_request": 100.0, "count": 900},
            "1": {"us_per_request": 60.0, "count": 80},
            "2": {"us_per_request": full_gc, "count": count},
        },
        "longest_full_collection_s": 0.38 if count else 0.0,
        "rps": 150.0,
    }


def test_threads_are_grouped_by_what_they_do() -> None:
    assert thread_group("MainThread") == "event loop (main thread)"
    assert thread_group("uvloop_3").startswith("LiteLLM's executor threads")
    assert thread_group("ThreadPoolExecutor-0_1").startswith("LiteLLM's executor threads")
    assert thread_group("sigil-delivery") == "sigil-delivery (gRPC sender)"
    assert thread_group("grpc_global_timer") == "other threads"


def test_the_table_gives_medians_of_runs_and_the_full_collections() -> None:
    runs = {("null", 2): [_run(5000.0, 400.0, 2), _run(5400.0, 0.0, 0), _run(5200.0, 500.0, 2)]}
    rendered = table(runs, ["null"], [2])  # type: ignore[arg-type]
    assert "| event loop (main thread) | 5,200 |" in rendered
    assert "| **serving process, all threads** | 5,205 |" in rendered
    assert "| of which garbage collection, full generation | 400 |" in rendered
    assert "| full collections per run (longest) | 2/0/2 (0.38 s) |" in rendered
    assert "our handler" not in rendered  # not timed


def test_the_handlers_time_in_the_proxy_is_a_median_too() -> None:
    runs = {
        ("null", 2): [_run(5000.0, 0.0, 0), _run(5000.0, 0.0, 0)],
        ("inprocess", 2): [_run(5300.0, 0.0, 0, 290.0), _run(5400.0, 0.0, 0, 330.0), _run(5200.0, 0.0, 0, 300.0)],
    }
    rendered = table(runs, ["null", "inprocess"], [2])  # type: ignore[arg-type]
    assert "| our handler, µs per event (collections left out) | 0 | 300 |" in rendered


def test_this_processs_threads_are_read_from_proc() -> None:
    threads = thread_cpu(os.getpid())
    assert os.getpid() in threads and threads[os.getpid()][1] >= 0
