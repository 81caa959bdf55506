"""SIGIL_RECORDER=auto: the CPUs the process may use, from cgroup files written in a temporary root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sigil_sdk_litellm.proxy.placement import cgroup_cpu_limit, proxy_workers, resolve_recorder, usable_cpus


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


@pytest.mark.parametrize(
    ("cpus", "workers", "placement"),
    [
        (2.0, 1, "process"),
        (2.0, 2, "inprocess"),  # no CPU left for the recorders: nothing grows with the workers
        (3.0, 2, "process"),
        (2.5, 2, "inprocess"),
        (4.0, 4, "inprocess"),
        (8.0, 4, "process"),
        (1.0, 1, "inprocess"),
    ],
)
def test_auto_needs_a_spare_cpu_beside_the_workers(cpus: float, workers: int, placement: str) -> None:
    assert resolve_recorder("auto", cpus, workers) == placement


@pytest.mark.parametrize("choice", ["process", "inprocess"])
def test_an_explicit_choice_ignores_the_workers(choice: str) -> None:
    assert resolve_recorder(choice, 1.0, 8) == choice
    assert resolve_recorder(choice, 64.0, 1) == choice


@pytest.mark.parametrize(
    ("env", "workers"),
    [
        ({}, 1),
        ({"NUM_WORKERS": "4"}, 4),
        ({"NUM_WORKERS": " 2 "}, 2),
        ({"NUM_WORKERS": "0"}, 1),
        ({"NUM_WORKERS": "x"}, 1),
    ],
)
def test_the_workers_come_from_the_variable_litellm_sets(env: dict[str, str], workers: int) -> None:
    assert proxy_workers(env) == workers


def test_auto_reads_the_workers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUM_WORKERS", "2")
    assert resolve_recorder("auto", 2.0) == "inprocess"
    assert resolve_recorder("auto", 3.0) == "process"
    monkeypatch.delenv("NUM_WORKERS")
    assert resolve_recorder("auto", 2.0) == "process"
