"""The proxies of the load benchmark (:data:`CONFIGS`: five config files, the other setups by environment
only), the peer's virtualenv, and /proc readings (RSS, CPU)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from side_venvs.peer import PEER_VERSION, ensure_peer_venv
from sigil_devstack.proxy import ProxyProcess

from bench.micro_compare import ROOT

BENCH = ROOT / "bench"

# name → (config file, description); the configs differ only in their `callbacks:` line
CONFIGS: dict[str, tuple[Path, str]] = {
    "none": (BENCH / "config_none.yaml", "no callback"),
    "null": (BENCH / "config_null.yaml", "a do-nothing LiteLLM callback"),
    "burn": (BENCH / "config_burn.yaml", "a callback spending BENCH_BURN_US µs of CPU per event, recording nothing"),
    "ours": (BENCH / "config_ours.yaml", "ours (sigil_callback, default settings)"),
    "spool": (BENCH / "config_ours.yaml", "ours with the disk spool (SIGIL_SPOOL_DIR)"),
    "inprocess": (BENCH / "config_ours.yaml", "ours, SIGIL_RECORDER=inprocess"),
    "process": (BENCH / "config_ours.yaml", "ours, SIGIL_RECORDER=process (a recorder process per worker)"),
    "metrics": (BENCH / "config_ours.yaml", "ours with the pipeline metrics (PROMETHEUS_MULTIPROC_DIR)"),
    "otlp": (BENCH / "config_ours.yaml", "ours with spans and gen_ai metrics over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)"),
    "unredacted": (BENCH / "config_ours.yaml", "ours without secret redaction (SIGIL_REDACT_SECRETS=off)"),
    "peer": (BENCH / "config_peer.yaml", f"PyPI sigil-sdk-litellm {PEER_VERSION}"),
}


class BenchProxy(ProxyProcess):
    """A ProxyProcess whose ``litellm`` may come from another virtualenv (the peer's)."""

    def __init__(self, *, litellm: str | None = None, cpus: int | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.litellm = litellm
        self.cpus = cpus  # the tree's CPU affinity: the first ``cpus`` CPUs (a pod's CPU limit, as auto sees it)
        self._server_pid: int | None = None

    def command(self) -> list[str]:
        cmd = super().command()
        if self.litellm:
            cmd[0] = self.litellm
        if self.cpus is not None:
            cmd = ["taskset", "--cpu-list", f"0-{self.cpus - 1}", *cmd]
        return cmd

    def server_pid(self) -> int:
        """The pid of the process serving requests (uvicorn's "Started server process [N]"), read once
        from the log when the proxy is ready (the log file is not relied upon afterwards)."""
        if self._server_pid is None:
            match = re.search(r"Started server process \[(\d+)\]", self.output())
            assert self.process is not None
            self._server_pid = int(match.group(1)) if match else self.process.pid
        return self._server_pid


def make_proxy(
    name: str,
    sink_grpc: str,
    extra_env: dict[str, str] | None = None,
    *,
    spool: Path | None = None,
    otlp: str | None = None,
    workers: int = 1,
    cpus: int | None = None,
) -> BenchProxy:
    """The proxy of configuration ``name``; "spool" needs ``spool``, a directory of its own; "otlp" the
    sink's OTLP/HTTP endpoint ``otlp``."""
    config, _ = CONFIGS[name]
    env = {
        "PYTHONUNBUFFERED": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "SIGIL_ENDPOINT": sink_grpc,
        "SIGIL_PROTOCOL": "grpc",
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": "none",
        **(extra_env or {}),
    }
    if name in ("inprocess", "process"):
        env["SIGIL_RECORDER"] = name
    if name == "spool":
        assert spool is not None, "the spool configuration needs a directory"
        env["SIGIL_SPOOL_DIR"] = str(spool)
    if name == "metrics":
        # SIGIL_METRICS=auto turns them on with the directory, as LiteLLM's metrics process needs it
        assert spool is not None, "the metrics configuration needs a directory"
        multiproc = spool.parent / "prometheus-multiproc"
        multiproc.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    if name == "unredacted":  # the baseline of the redaction's cost (on by default)
        env["SIGIL_REDACT_SECRETS"] = "off"
    if name == "otlp":
        # the OpenTelemetry defaults otherwise: http/protobuf, 5 s batches, metrics every 60 s
        assert otlp is not None, "the otlp configuration needs the sink's OTLP endpoint"
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
    litellm = str(ensure_peer_venv().parent / "litellm") if name == "peer" else None
    return BenchProxy(config=config, env=env, litellm=litellm, startup_timeout=240.0, num_workers=workers, cpus=cpus)


# -- /proc ----------------------------------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2 :].split()  # fields from "state" on (field 3)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _smaps_rollup_bytes(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: private pages plus a share of the pages shared with other processes
    (what a process tree really costs the machine; RSS counts shared pages once per process)."""
    return _smaps_rollup_bytes(pid, "Pss:")


def anon_bytes(pid: int) -> int:
    """Anonymous memory (heaps, stacks): unlike PSS, it does not move with how many other processes on
    the machine map the same library files at that moment."""
    return _smaps_rollup_bytes(pid, "Anonymous:")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` itself (threads included, children not)."""
    try:
        fields = _stat_fields(pid)
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class TreeReading:
    proxy_rss: int
    tree_rss: int
    proxy_cpu: float
    tree_cpu: float
    pids: list[int] = field(default_factory=list)
    proxy_pss: int = 0
    tree_pss: int = 0
    tree_anon: int = 0


def read_tree(proxy: BenchProxy) -> TreeReading:
    """RSS, PSS and CPU of the serving process and of the proxy's whole process tree (recorder included)."""
    assert proxy.process is not None
    server = proxy.server_pid()
    pids = descendants(proxy.process.pid)
    if server not in pids:
        pids.append(server)
    return TreeReading(
        proxy_rss=rss_bytes(server),
        tree_rss=sum(rss_bytes(p) for p in pids),
        proxy_cpu=cpu_seconds(server),
        tree_cpu=sum(cpu_seconds(p) for p in pids),
        pids=pids,
        proxy_pss=pss_bytes(server),
        tree_pss=sum(pss_bytes(p) for p in pids),
        tree_anon=sum(anon_bytes(p) for p in pids),
    )
