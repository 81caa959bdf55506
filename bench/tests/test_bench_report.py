"""The load benchmark's pure helpers (bench/report.py, bench/loadgen.py) and its configs; no load runs here."""

from __future__ import annotations

import math
from pathlib import Path

from bench import report
from bench.loadgen import build_request, percentile

BENCH = Path(__file__).resolve().parents[1]


def _run(config: str, rnd: int, rps: float, p99: float, *, phase: str = "saturation", ok: int = 10, sink: int = 10):
    return {
        "phase": phase,
        "round": rnd,
        "workload": "short",
        "config": config,
        "connections": 16,
        "rate": 0.0,
        "rps": rps,
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "sent": ok,
        "ok": ok,
        "sink": 0 if config == "none" else sink,
    }


def test_ratios_are_taken_within_each_round_then_the_median():
    runs = [
        _run("none", 1, 100, 10),
        _run("ours", 1, 98, 10.2),
        _run("none", 2, 50, 20),  # a slow round: the ratio is what counts
        _run("ours", 2, 49, 20),
        _run("none", 3, 100, 10),
        _run("ours", 3, 90, 10),
    ]
    assert report.per_round_ratios(runs, "ours", "rps") == [0.98, 0.98, 0.9]
    [base, ours] = report.summarize(runs, ["none", "ours"])
    assert base.rps == 100 and base.rounds == 3
    assert ours.rps_ratio == 0.98
    assert math.isclose(ours.p99_ratio, 1.0)


def test_count_equality_needs_every_answer_2xx_and_every_generation_and_none_for_the_baseline():
    ok = report.summarize([_run("none", 1, 1, 1), _run("ours", 1, 1, 1)], ["none", "ours"])
    assert all(row.count_ok for row in ok)
    lost = report.summarize([_run("none", 1, 1, 1), _run("ours", 1, 1, 1, sink=9)], ["none", "ours"])
    assert not lost[1].count_ok
    exported_by_baseline = report.summarize([{**_run("none", 1, 1, 1), "sink": 1}], ["none"])
    assert not exported_by_baseline[0].count_ok


def test_targets():
    runs = [
        _run("none", 1, 100, 10),
        _run("ours", 1, 97, 10),
        _run("none", 1, 50, 10, phase="half"),
        _run("ours", 1, 50, 10.6, phase="half"),
    ]
    rows = report.summarize(runs, ["none", "ours"])
    memory = {"none": {"proxy_rss": 100.0, "tree_rss": 100.0}, "ours": {"proxy_rss": 105.0, "tree_rss": 120.0}}
    checks = {c.target: c.passed for c in report.check_targets(rows, memory, ["none", "ours"])}
    assert checks == {
        "req/s at saturation, short >= 0.97x": True,
        "p99 at half saturation, short <= 1.05x": False,
        "every request 2xx and its generation at the sink, every run": True,
        "RSS (proxy process) <= 1.1x": True,
        "RSS (process tree) <= 1.1x": False,
    }
    with_pss = {k: {**v, "tree_pss": v["tree_rss"] * 0.9} for k, v in memory.items()}
    pss = [c for c in report.check_targets(rows, with_pss, ["none", "ours"]) if c.target.startswith("PSS")]
    assert [(c.target, c.passed) for c in pss] == [("PSS (process tree) <= 1.1x", False)]
    assert math.isclose(pss[0].value, 1.2)


def test_memory_table_shows_the_growth_per_thousand_requests_and_pss_only_when_measured():
    from bench.harness import ORDER, memory_readings, memory_table

    mib = 2**20
    idle = memory_readings({c: {"proxy_rss": 300 * mib, "tree_rss": 300 * mib} for c in ORDER})
    after = memory_readings({c: {"proxy_rss": 310 * mib, "tree_rss": 330 * mib} for c in ORDER})
    after["none"] = {"proxy_rss": 310.0 * mib, "tree_rss": 310.0 * mib, "tree_pss": 0.0}
    table = memory_table(idle, after, dict.fromkeys(ORDER, 10_000))
    assert "PSS" not in table
    ours = next(line for line in table.splitlines() if line.startswith("| ours"))
    assert "| 300 → 310 MiB | 1.000x | +1.00 |" in ours and "| 300 → 330 MiB | 1.065x | +3.00 |" in ours
    after = {c: {**v, "tree_pss": 290.0 * mib} for c, v in after.items()}
    assert "process tree PSS idle → after" in memory_table(idle, after, dict.fromkeys(ORDER, 10_000))


def test_pss_is_read_for_a_live_process_and_zero_for_a_gone_one():
    import os

    from bench.proxies import pss_bytes

    assert 0 < pss_bytes(os.getpid()) < 4 * 2**30
    assert pss_bytes(2**22 + 12345) == 0


def test_tables_render_every_row():
    rows = report.summarize([_run("none", 1, 100, 10), _run("ours", 1, 97, 10)], ["none", "ours"])
    table = report.load_table(rows, {"none": "no callback"}, {"short": "short chat"})
    assert table.count("\n") == 3 and "0.970x" in table and "no callback" in table


def test_percentile_interpolates():
    assert percentile([], 99) == 0.0
    assert percentile([1.0], 50) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert math.isclose(percentile([float(i) for i in range(101)], 99), 99.0)


def test_request_bytes():
    raw = build_request("127.0.0.1", 4000, "/v1/chat/completions", "sk-x", b'{"a": 1}')
    head, body = raw.split(b"\r\n\r\n")
    assert body == b'{"a": 1}'
    assert b"Content-Length: 8" in head and b"Authorization: Bearer sk-x" in head


def test_the_configs_differ_only_in_their_callbacks_line():
    names = ("none", "null", "burn", "ours", "peer")
    texts = {name: (BENCH / f"config_{name}.yaml").read_text().splitlines() for name in names}
    assert len({len(lines) for lines in texts.values()}) == 1
    differing = [i for i, lines in enumerate(zip(*texts.values(), strict=True)) if len(set(lines)) > 1]
    assert len(differing) == 1
    assert {texts[name][differing[0]].strip() for name in texts} == {
        "callbacks: []",
        "callbacks: null_callback.sigil_handler",
        "callbacks: burn_callback.sigil_handler",
        "callbacks: sigil_callback.sigil_handler",
        "callbacks: peer_callback.sigil_handler",
    }
