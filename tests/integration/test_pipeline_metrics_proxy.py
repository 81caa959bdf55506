"""The pipeline metrics through the real proxy: two workers (each with its recorder process), LiteLLM's
own metrics process (``--prometheus_metrics_port``) and the mock sink, healthy, down, and back.

One scrape of LiteLLM's ``/metrics`` must show our counters summed over all four processes, adding up
at every step: exported + rejected + dropped + buffered = recorded; and every metric the Grafana
dashboard (deploy/grafana/) queries must be in that scrape.

With ``METRICS_SERIES_OUT=<file>`` the scrapes taken along the way are written there as JSON (what
``python -m bench.pipeline_metrics_plot`` draws docs/pipeline-metrics.png from).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fake_llm.testing import FakeLLMProcess
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sigil_devstack.children import free_port
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from bench.pipeline_metrics_plot import Sample, parse
from tests.grafana_dashboard import DASHBOARD_PATH, load_dashboard, queried_metrics

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[1] / "data" / "config_metrics.yaml"
BUFFER_ITEMS = 30  # per recorder: the outage below overflows it
# the export stage's drops; handoff_full and recorder_lost are events lost before they were recorded
RECORDED_DROPS = ("buffer_full", "shutdown_deadline", "encode_error")

Samples = Sample


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def ledger(samples: Samples) -> dict[str, float]:
    return {
        "recorded": total(samples, "sigil_litellm_generations_recorded_total"),
        "exported": total(samples, "sigil_litellm_generations_exported_total"),
        "rejected": total(samples, "sigil_litellm_generations_rejected_total"),
        "dropped": sum(total(samples, "sigil_litellm_generations_dropped_total", reason=r) for r in RECORDED_DROPS),
        "buffered": total(samples, "sigil_litellm_buffer_items"),
    }


def balanced(book: dict[str, float]) -> bool:
    return book["exported"] + book["rejected"] + book["dropped"] + book["buffered"] == book["recorded"]


class Scraper:
    """Scrapes the metrics port every ``interval`` seconds in the background; keeps (time, text)."""

    def __init__(self, url: str, interval: float = 0.5) -> None:
        self.url = url
        self.interval = interval
        self.series: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def scrape(self) -> Samples:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            text = response.read().decode()
        self.series.append((time.time(), text))
        return parse(text)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError):
                self.scrape()

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def settle(scraper: Scraper, expected_recorded: int, timeout: float = 60.0) -> Samples:
    """The first scrape (of two alike in a row) with ``expected_recorded`` recorded and the books balanced."""
    deadline = time.monotonic() + timeout
    previous: dict[str, float] | None = None
    while time.monotonic() < deadline:
        samples = scraper.scrape()
        book = ledger(samples)
        if book["recorded"] + book["dropped"] >= expected_recorded and balanced(book) and book == previous:
            return samples
        previous = book
        time.sleep(0.5)
    raise AssertionError(f"metrics did not settle at {expected_recorded} recorded: {ledger(scraper.scrape())}")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMProcess]:
    with FakeLLMProcess() as process:
        yield process


def chat(proxy: ProxyProcess, count: int, conversation: str) -> None:
    client = proxy.openai_client(max_retries=0, timeout=30)

    def one(index: int) -> None:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"ping {index}"}],
            extra_body={"metadata": {"conversation_id": conversation}},
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def test_counters_add_up_over_two_workers_through_an_outage(fake: FakeLLMProcess, tmp_path: Path) -> None:
    metrics_port = free_port("127.0.0.1")
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    with SinkProcess(auth="tenant") as sink:
        env = {
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "tenant",
            "SIGIL_AUTH_TENANT_ID": "metrics",
            "SIGIL_FLUSH_INTERVAL": "0.1",
            "SIGIL_MAX_BACKOFF": "0.5",
            "SIGIL_BUFFER_MAX_ITEMS": str(BUFFER_ITEMS),
            "SIGIL_HOOKS_ENABLED": "true",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
        }
        proxy = ProxyProcess(
            config=CONFIG,
            env=env,
            num_workers=2,
            # uvicorn kills a worker that does not answer its supervisor within 5 s, as a worker
            # starting on a loaded machine may not
            extra_args=["--prometheus_metrics_port", str(metrics_port), "--timeout_worker_healthcheck", "60"],
            startup_timeout=300,
        )
        with proxy, Scraper(f"http://127.0.0.1:{metrics_port}/metrics") as scraper:
            # 1. healthy: everything recorded is exported
            chat(proxy, 20, "metrics-healthy")
            healthy = settle(scraper, 20)
            book = ledger(healthy)
            assert book["recorded"] == 20 == book["exported"], book
            assert total(healthy, "sigil_litellm_export_attempts_total", outcome="success") >= 1
            assert total(healthy, "sigil_litellm_hook_evaluations_total", phase="preflight", outcome="allow") == 20
            assert total(healthy, "litellm_proxy_total_requests_metric_total") >= 20
            # both workers and both recorders write their samples there
            written = {p.name for p in multiproc.glob("counter_*.db")}
            assert len(written) >= 4, written  # 2 workers + 2 recorders (and LiteLLM's own)

            # 2. Sigil down (503): the buffers fill, then overflow; requests go on
            sink.set_faults(unavailable=True)
            chat(proxy, 100, "metrics-outage")
            during = settle(scraper, 120)
            book = ledger(during)
            assert balanced(book), book
            assert book["buffered"] > 0 and book["exported"] == 20, book
            assert total(during, "sigil_litellm_generations_dropped_total", reason="buffer_full") > 0
            assert book["buffered"] <= 2 * BUFFER_ITEMS
            assert total(during, "sigil_litellm_buffer_bytes") > 0
            assert total(during, "sigil_litellm_export_attempts_total", outcome="transient_failure") > 0
            assert total(during, "sigil_litellm_export_retries_total") > 0
            last_success = total(during, "sigil_litellm_last_successful_export_timestamp_seconds")
            assert 0 < last_success < time.time()

            # 3. Sigil back: the buffers drain, the books still balance, the sink holds what was exported
            sink.clear_faults()
            deadline = time.monotonic() + 60
            while total(after := scraper.scrape(), "sigil_litellm_buffer_items") > 0:
                assert time.monotonic() < deadline, ledger(after)
                time.sleep(0.5)
            book = ledger(after)
            assert balanced(book) and book["buffered"] == 0, book
            assert book["exported"] == book["recorded"] - book["dropped"] > 20, book
            stored = sink.generations()
            assert len(stored) == book["exported"]
            assert total(after, "sigil_litellm_generations_dropped_total", reason="handoff_full") == 0
            assert total(after, "sigil_litellm_last_successful_export_timestamp_seconds") > last_success
            assert total(after, "sigil_litellm_export_duration_seconds_count") >= total(
                after, "sigil_litellm_export_attempts_total"
            )

            # 4. every metric the dashboard queries is in the scrape
            names = {name for name, _ in after}
            families = {family.name for family in text_string_to_metric_families(scraper.series[-1][1])}
            missing = {m for m in queried_metrics(load_dashboard()) if m not in names and m not in families}
            assert not missing, f"{DASHBOARD_PATH.name} queries metrics the proxy does not export: {missing}"
        series_path = os.environ.get("METRICS_SERIES_OUT")
        if series_path:
            Path(series_path).write_text(json.dumps(scraper.series))
    # the recorders marked their live gauges dead when they exited: the buffer is out of the pod's sums
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc))
    left = [s for f in registry.collect() if f.name == "sigil_litellm_buffer_items" for s in f.samples]
    assert left == [], left
