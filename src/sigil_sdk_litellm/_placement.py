"""Where the recording runs when ``SIGIL_RECORDER=auto``: from the CPUs this process may use.

A recorder process pays off only when it can run beside the worker's event loop on another CPU; in
a container limited to one CPU it would only add its memory (a second interpreter). The CPUs counted
are the affinity mask's, capped by the cgroup's CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

CGROUP = Path("/sys/fs/cgroup")
# fewer usable CPUs than this: record in process
PROCESS_MIN_CPUS = 2.0


def cgroup_cpu_limit(root: Path = CGROUP) -> float | None:
    """The CPU quota of this process's cgroup in CPUs, or None when there is none (or it is unreadable)."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def usable_cpus(root: Path = CGROUP) -> float:
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cpus = float(os.cpu_count() or 1)
    limit = cgroup_cpu_limit(root)
    return min(cpus, limit) if limit is not None else cpus


def resolve_recorder(choice: str, cpus: float | None = None) -> Literal["process", "inprocess"]:
    """``SIGIL_RECORDER`` made concrete: ``auto`` picks by :func:`usable_cpus`."""
    if choice == "process":
        return "process"
    if choice == "inprocess":
        return "inprocess"
    return "process" if (usable_cpus() if cpus is None else cpus) >= PROCESS_MIN_CPUS else "inprocess"
