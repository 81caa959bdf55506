"""SIGIL_RECORDER=auto: the CPUs the process may use, from cgroup files written in a temporary root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sigil_sdk_litellm._placement import cgroup_cpu_limit, resolve_recorder, usable_cpus


def test_cgroup_v2_quota_in_cpus(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 0.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_cgroup_v1_quota_and_no_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path) is None  # neither file
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("150000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").write_text("garbage")
    assert cgroup_cpu_limit(tmp_path) is None


def test_usable_cpus_is_the_affinity_capped_by_the_quota(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    assert usable_cpus(tmp_path) == affinity
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert usable_cpus(tmp_path) == min(affinity, 1.0)


@pytest.mark.parametrize(
    ("choice", "cpus", "placement"),
    [
        ("auto", 1.0, "inprocess"),
        ("auto", 1.5, "inprocess"),
        ("auto", 2.0, "process"),
        ("auto", 16.0, "process"),
        ("process", 1.0, "process"),
        ("inprocess", 16.0, "inprocess"),
    ],
)
def test_auto_records_in_a_recorder_process_only_with_two_cpus(choice: str, cpus: float, placement: str) -> None:
    assert resolve_recorder(choice, cpus) == placement
