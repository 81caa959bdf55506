"""Run the real LiteLLM proxy (``litellm --config …``) as a child process on loopback."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

from .children import free_port
from .zygote import ForkedProcess, ZygoteClient

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG = REPO_ROOT / "config" / "config.yaml"


def new_master_key() -> str:
    """A master key strong enough for LiteLLM ≥1.10x (it refuses weak ones)."""
    return "sk-" + secrets.token_hex(32)


# the test suite's opt-in: fork proxies from a zygote that imported LiteLLM once (see zygote.py)
LAUNCH_ENV = "DEVSTACK_PROXY_LAUNCH"
LAUNCHES: Counter[str] = Counter()
_zygote: ZygoteClient | None = None


def _zygote_for(env: dict[str, str]) -> ZygoteClient | None:
    """This process's zygote when the suite asked for one and ``env`` can fork from it."""
    global _zygote
    if os.environ.get(LAUNCH_ENV) != "fork":
        return None
    if _zygote is None:
        _zygote = ZygoteClient({**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return _zygote if _zygote.can_fork(env) else None


def stop_zygote() -> None:
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


def litellm_executable() -> str:
    candidate = Path(sys.executable).with_name("litellm")
    return str(candidate) if candidate.exists() else "litellm"


class ProxyProcess:
    """``litellm --config CONFIG --host 127.0.0.1 --port PORT`` with a controlled environment.

    The child's output goes to a log file (``log_path``; ``output()`` reads it). ``start()`` waits
    until ``/health/liveliness`` answers, or raises with the end of the log if the proxy exits or
    does not come up. ``stop()`` sends SIGTERM (the proxy's graceful path), then kills after
    ``stop_timeout``. Use it as a context manager so the process is always stopped.
    """

    def __init__(
        self,
        *,
        config: Path | str = DEFAULT_CONFIG,
        env: dict[str, str] | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        master_key: str | None = None,
        num_workers: int = 1,
        extra_args: list[str] | None = None,
        inherit_env: bool = True,
        startup_timeout: float = 120.0,
        stop_timeout: float = 30.0,
        keep_log: bool = False,
    ) -> None:
        self.config = Path(config)
        self.host = host
        self.port = port or free_port(host)
        self.master_key = master_key or new_master_key()
        self.num_workers = num_workers
        self.extra_args = list(extra_args or [])
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        base = dict(os.environ) if inherit_env else {"PATH": os.environ.get("PATH", "")}
        base.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        base["LITELLM_MASTER_KEY"] = self.master_key
        base.update(env or {})
        self.env = base
        self._log = tempfile.NamedTemporaryFile(prefix="litellm-proxy-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)
        self.process: subprocess.Popen[bytes] | ForkedProcess | None = None
        self.returncode: int | None = None
        self._text: str | None = None
        self.keep_log = keep_log

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [litellm_executable(), "--config", str(self.config), "--host", self.host, "--port", str(self.port)]
        if self.num_workers != 1:
            # uvicorn's supervisor restarts a worker silent for 5 s; importing LiteLLM takes longer than
            # that on a busy 2-core machine, and the restarted worker is slower still
            cmd += ["--num_workers", str(self.num_workers), "--timeout_worker_healthcheck", "60"]
        return cmd + self.extra_args

    def start(self, wait: bool = True) -> ProxyProcess:
        # uvicorn spawns extra workers with multiprocessing "spawn": they would import LiteLLM anyway
        zygote = _zygote_for(self.env) if self.num_workers == 1 else None
        LAUNCHES["fork" if zygote else "exec"] += 1
        if zygote is not None:
            self.process = zygote.spawn(self.command(), self.env, str(self.config.parent), str(self.log_path))
            if wait:
                self.wait_ready()
            return self
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(self.config.parent),
            start_new_session=True,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"LiteLLM proxy exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            if self.is_live():
                return
            time.sleep(0.25)
        raise TimeoutError(f"LiteLLM proxy not live after {self.startup_timeout}s:\n{self.output()[-4000:]}")

    def is_live(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health/liveliness", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_exit(self, timeout: float) -> int | None:
        if self.process is None:
            return None
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Signal the proxy's whole process group (uvicorn workers included)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            if self.wait_exit(self.stop_timeout) is None:
                self.signal(signal.SIGKILL)
                self.wait_exit(10)
        self.returncode = self.process.returncode
        self._log.close()
        # the text stays readable through output(); the file is removed unless kept
        self._text = self.log_path.read_text(errors="replace")
        if not self.keep_log:
            self.log_path.unlink(missing_ok=True)
        return self.returncode

    def output(self) -> str:
        if self._text is not None:
            return self._text
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def openai_client(self, **kwargs: Any) -> Any:
        import openai

        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=self.master_key, **kwargs)

    def async_openai_client(self, **kwargs: Any) -> Any:
        import openai

        return openai.AsyncOpenAI(base_url=f"{self.base_url}/v1", api_key=self.master_key, **kwargs)

    def __enter__(self) -> ProxyProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
