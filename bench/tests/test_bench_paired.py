"""The paired benchmark's summary: ratios per round → median, geometric mean, range, sink check."""

from __future__ import annotations

import argparse
import math

import pytest

from bench.paired import PairResult, pairs_table, tree_env, tree_option


def test_geometric_mean_cancels_a_ratio_and_its_inverse() -> None:
    result = PairResult("ours", "metrics", "short", [0.8, 1.25, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], 0)
    assert math.isclose(result.geomean, 1.0)


def test_table_row_gives_median_geomean_range_p99_and_worker_cpu() -> None:
    ratios, p99, cpu = [0.9, 1.0, 1.2, 0.96], [1.1, 0.9, 1.3, 1.0], [0.5, 0.7, 0.6, 0.9]
    row = PairResult("none", "spool", "agent42", ratios, p99, cpu, 0).row()
    line = pairs_table([row], {"none": "no callback", "spool": "ours with the spool"}).splitlines()[2]
    cells = [c.strip() for c in line.strip("|").split("|")]
    geomean = (0.9 * 1.0 * 1.2 * 0.96) ** 0.25
    assert cells == [
        "ours with the spool ÷ no callback",
        "agent42",
        "4",
        "0.980",
        f"{geomean:.3f}",
        "0.900-1.200",
        "1.050",
        "0.650",
        "yes",
    ]


def test_rounds_whose_sink_count_differs_are_flagged() -> None:
    row = PairResult("none", "spool", "short", [1.0, 1.0], [1.0, 1.0], [1.0, 1.0], 1).row()
    assert pairs_table([row], {}).splitlines()[2].endswith("| no (1 rounds) |")


def test_a_proxy_of_another_tree_imports_the_package_from_it_first(monkeypatch: pytest.MonkeyPatch) -> None:
    trees = {"b": "/trees/b/src"}
    monkeypatch.setenv("PYTHONPATH", "/probe")
    assert tree_env("inprocess#b", trees) == {"PYTHONPATH": "/trees/b/src:/probe"}
    monkeypatch.delenv("PYTHONPATH")
    assert tree_env("inprocess#b", trees) == {"PYTHONPATH": "/trees/b/src"}
    assert tree_env("inprocess", trees) == {}
    assert tree_env("inprocess#2", trees) == {}


def test_a_tree_option_is_suffix_and_directory() -> None:
    assert tree_option("b=/trees/b/src") == ("b", "/trees/b/src")
    for bad in ("b", "=/trees/b/src", "b="):
        with pytest.raises(argparse.ArgumentTypeError, match="expected SUFFIX=DIR"):
            tree_option(bad)
