"""Where the recording runs when ``SIGIL_RECORDER=auto``: from the CPUs this process may use.

A recorder process pays off only when it can run beside the workers' event loops on a CPU of its
own; otherwise it only adds its memory (a second interpreter per worker) and competes with the
workers for the same CPUs. So ``auto`` starts recorder processes only when the usable CPUs exceed
the instance's workers (LiteLLM's CLI sets ``NUM_WORKERS`` before starting them). The CPUs counted
are the affinity mask's, capped by the cgroup's CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

CGROUP = Path("/sys/fs/cgroup")
# the CPUs beyond one per worker that a recorder process per worker needs to pay off
SPARE_CPUS = 1.0
# set by LiteLLM's CLI (``litellm --num_workers N``) before it starts the workers
WORKERS_ENV = "NUM_WORKERS"


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


def proxy_workers(env: Mapping[str, str] | None = None) -> int:
    """The number of workers of this proxy instance: ``NUM_WORKERS`` (1 when unset or not a count)."""
    raw = (os.environ if env is None else env).get(WORKERS_ENV, "").strip()
    try:
        return max(1, int(raw))
    except ValueError:
        return 1


def resolve_recorder(
    choice: str, cpus: float | None = None, workers: int | None = None
) -> Literal["process", "inprocess"]:
    """``SIGIL_RECORDER`` made concrete: ``auto`` picks ``process`` when the usable CPUs
    (:func:`usable_cpus`) leave one spare beside the workers (:func:`proxy_workers`)."""
    if choice == "process":
        return "process"
    if choice == "inprocess":
        return "inprocess"
    cpus = usable_cpus() if cpus is None else cpus
    workers = proxy_workers() if workers is None else workers
    return "process" if cpus >= workers + SPARE_CPUS else "inprocess"
