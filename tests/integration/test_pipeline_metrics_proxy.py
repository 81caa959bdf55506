"""The pipeline metrics through the real proxy: two workers (each with its recorder process), LiteLLM's
own metrics process (``--prometheus_metrics_port``) and the mock sink, healthy, down, and back.

The traffic goes through three teams' keys (LiteLLM ``custom_auth``, tests/integration/team_keys_auth.py):
two mapped by SIGIL_TENANT_MAP to tenants ``alpha`` and ``beta``, one falling back to the default tenant.
One scrape of LiteLLM's ``/metrics`` must show our counters summed over all four processes, adding up
at every step, in total and per ``tenant`` label: exported + rejected + dropped + buffered = recorded;
the sink must hold each tenant's generations under that tenant only; and every query of the Grafana
dashboard (deploy/grafana/) must return data from that scrape, for each tenant.

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
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sigil_devstack.children import free_port
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from bench.pipeline_metrics_plot import Sample, parse
from tests.grafana_dashboard import DASHBOARD_PATH, expressions, load_dashboard, missing_data, queried_metrics
from tests.integration.conftest import write_proxy_config

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[1] / "data" / "config_metrics.yaml"
BUFFER_ITEMS = 30  # per recorder, shared by its three tenants: the outage below overflows each share
# API key (custom_auth) → the tenant label its generations are counted under
KEYS = {"sk-team-alpha": "alpha", "sk-team-beta": "beta", "sk-nobody": "default"}
TENANTS = tuple(KEYS.values())
TENANT_MAP = {
    "team_id:team-alpha": {"tenant_id": "alpha", "auth_mode": "tenant"},
    "team_alias:beta": {"tenant_id": "beta", "auth_mode": "tenant"},
}
DEFAULT_TENANT_ID = "metrics"  # SIGIL_AUTH_TENANT_ID: where the sink files the default tenant's generations
# the export stage's drops; handoff_full and recorder_lost are events lost before they were recorded
RECORDED_DROPS = ("buffer_full", "shutdown_deadline", "encode_error")

Samples = Sample


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def latest(samples: Samples, name: str, **labels: str) -> float:
    """The largest value (a timestamp gauge: a sum over tenants would mean nothing)."""
    return max((v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)), default=0.0)


def ledger(samples: Samples, **labels: str) -> dict[str, float]:
    return {
        "recorded": total(samples, "sigil_litellm_generations_recorded_total", **labels),
        "exported": total(samples, "sigil_litellm_generations_exported_total", **labels),
        "rejected": total(samples, "sigil_litellm_generations_rejected_total", **labels),
        "dropped": sum(
            total(samples, "sigil_litellm_generations_dropped_total", reason=r, **labels) for r in RECORDED_DROPS
        ),
        "buffered": total(samples, "sigil_litellm_buffer_items", **labels),
    }


def ledgers(samples: Samples) -> dict[str, dict[str, float]]:
    """The books in total (``"all"``) and per tenant label."""
    return {"all": ledger(samples), **{tenant: ledger(samples, tenant=tenant) for tenant in TENANTS}}


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
    """The first scrape (of two alike in a row) with ``expected_recorded`` recorded and the books balanced,
    in total and per tenant."""
    deadline = time.monotonic() + timeout
    previous: dict[str, dict[str, float]] | None = None
    while time.monotonic() < deadline:
        samples = scraper.scrape()
        books = ledgers(samples)
        book = books["all"]
        if (
            book["recorded"] + book["dropped"] >= expected_recorded
            and all(balanced(b) for b in books.values())
            and books == previous
        ):
            return samples
        previous = books
        time.sleep(0.5)
    raise AssertionError(f"metrics did not settle at {expected_recorded} recorded: {ledgers(scraper.scrape())}")


def metrics_config(directory: Path) -> Path:
    """config_metrics.yaml with the test keys' custom_auth (loaded from the config's directory)."""
    text = CONFIG.read_text() + "  custom_auth: team_keys_auth.user_api_key_auth\n"
    return write_proxy_config(directory, text, "team_keys_auth.py", callback_file=False)


def chat(proxy: ProxyProcess, count: int, conversation: str) -> Counter[str]:
    """``count`` chats, the keys taken in turn; each tenant's in conversation ``<conversation>-<tenant>``.
    How many went to each tenant."""
    keys = list(KEYS)
    clients = {
        key: openai.OpenAI(base_url=f"{proxy.base_url}/v1", api_key=key, max_retries=0, timeout=30) for key in keys
    }

    def one(index: int) -> None:
        key = keys[index % len(keys)]
        clients[key].chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"ping {index}"}],
            extra_body={"metadata": {"conversation_id": f"{conversation}-{KEYS[key]}"}},
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))
    return Counter(KEYS[keys[index % len(keys)]] for index in range(count))


def sink_tenants(sink: SinkProcess) -> dict[str, Counter[str]]:
    """The sink's generations: the tenant the conversation id names → the tenants it was filed under."""
    out: dict[str, Counter[str]] = {}
    for generation in sink.generations():
        sent_as = generation["conversation_id"].rsplit("-", 1)[1]
        out.setdefault(sent_as, Counter())[generation["_tenant"]] += 1
    return out


def test_counters_add_up_over_two_workers_through_an_outage(fake: FakeLLMProcess, tmp_path: Path) -> None:
    metrics_port = free_port("127.0.0.1")
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    share = BUFFER_ITEMS // len(TENANTS)  # each tenant's buffer per recorder (split_bound)
    with SinkProcess(auth="tenant") as sink:
        env = {
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "tenant",
            "SIGIL_AUTH_TENANT_ID": DEFAULT_TENANT_ID,
            "SIGIL_TENANT_MAP": json.dumps(TENANT_MAP),
            "SIGIL_FLUSH_INTERVAL": "0.1",
            "SIGIL_MAX_BACKOFF": "0.5",
            "SIGIL_BUFFER_MAX_ITEMS": str(BUFFER_ITEMS),
            "SIGIL_HOOKS_ENABLED": "true",
            # recorder processes beside both workers (auto picks them only with a CPU more than the workers)
            "SIGIL_RECORDER": "process",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
        }
        proxy = ProxyProcess(
            config=metrics_config(tmp_path),
            env=env,
            num_workers=2,
            # uvicorn kills a worker that does not answer its supervisor within 5 s, as a worker
            # starting on a loaded machine may not
            extra_args=["--prometheus_metrics_port", str(metrics_port), "--timeout_worker_healthcheck", "60"],
            startup_timeout=300,
        )
        with proxy, Scraper(f"http://127.0.0.1:{metrics_port}/metrics") as scraper:
            # 1. healthy: everything recorded is exported, each tenant's own
            sent = chat(proxy, 20, "metrics-healthy")
            healthy = settle(scraper, 20)
            book = ledger(healthy)
            assert book["recorded"] == 20 == book["exported"], book
            for tenant in TENANTS:
                book = ledger(healthy, tenant=tenant)
                assert book["recorded"] == sent[tenant] == book["exported"] > 0, (tenant, book)
            assert total(healthy, "sigil_litellm_export_attempts_total", outcome="success") >= 1
            assert total(healthy, "sigil_litellm_hook_evaluations_total", phase="preflight", outcome="allow") == 20
            # hooks are evaluated with the default tenant's credentials, so they count under it
            assert (
                total(
                    healthy,
                    "sigil_litellm_hook_evaluations_total",
                    tenant="default",
                    phase="preflight",
                    outcome="allow",
                )
                == 20
            )
            assert total(healthy, "litellm_proxy_total_requests_metric_total") >= 20
            # both workers and both recorders write their samples there
            written = {p.name for p in multiproc.glob("counter_*.db")}
            assert len(written) >= 4, written  # 2 workers + 2 recorders (and LiteLLM's own)

            # 2. Sigil down (503): the buffers fill, then overflow; requests go on
            sink.set_faults(unavailable=True)
            sent += chat(proxy, 100, "metrics-outage")
            during = settle(scraper, 120)
            book = ledger(during)
            assert balanced(book), book
            assert book["buffered"] > 0 and book["exported"] == 20, book
            assert total(during, "sigil_litellm_generations_dropped_total", reason="buffer_full") > 0
            assert book["buffered"] <= 2 * BUFFER_ITEMS
            assert total(during, "sigil_litellm_buffer_bytes") > 0
            assert total(during, "sigil_litellm_export_attempts_total", outcome="transient_failure") > 0
            assert total(during, "sigil_litellm_export_retries_total") > 0
            last_success = latest(during, "sigil_litellm_last_successful_export_timestamp_seconds")
            assert 0 < last_success < time.time()
            for tenant in TENANTS:
                book = ledger(during, tenant=tenant)
                assert balanced(book) and book["recorded"] == sent[tenant], (tenant, book)
                assert 0 < book["buffered"] <= 2 * share, (tenant, book)
                assert book["dropped"] > 0 and book["exported"] == ledger(healthy, tenant=tenant)["exported"], book
                assert total(during, "sigil_litellm_export_attempts_total", tenant=tenant, outcome="transient_failure")
                assert total(during, "sigil_litellm_buffer_bytes", tenant=tenant) > 0
                stamp = latest(during, "sigil_litellm_last_successful_export_timestamp_seconds", tenant=tenant)
                assert 0 < stamp <= last_success, (tenant, stamp)

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
            assert latest(after, "sigil_litellm_last_successful_export_timestamp_seconds") > last_success
            assert total(after, "sigil_litellm_export_duration_seconds_count") >= total(
                after, "sigil_litellm_export_attempts_total"
            )
            # each tenant's generations are in the sink under that tenant only, as many as it exported
            sink_tenant = {tenant: tenant for tenant in TENANTS} | {"default": DEFAULT_TENANT_ID}
            filed = sink_tenants(sink)
            for tenant in TENANTS:
                book = ledger(after, tenant=tenant)
                assert balanced(book) and book["buffered"] == 0 and book["recorded"] == sent[tenant], (tenant, book)
                assert (
                    book["exported"] == book["recorded"] - book["dropped"] > ledger(healthy, tenant=tenant)["exported"]
                )
                assert filed[tenant] == Counter({sink_tenant[tenant]: book["exported"]}), (tenant, filed)
                stamp = latest(after, "sigil_litellm_last_successful_export_timestamp_seconds", tenant=tenant)
                assert stamp > latest(during, "sigil_litellm_last_successful_export_timestamp_seconds", tenant=tenant)
            assert set(filed) == set(TENANTS), filed

            # 4. every query of the dashboard returns data from the scrape: for all tenants and for each
            # (hook evaluations only for the default tenant, whose credentials evaluate them)
            names = {name for name, _ in after}
            families = {family.name for family in text_string_to_metric_families(scraper.series[-1][1])}
            missing = {m for m in queried_metrics(load_dashboard()) if m not in names and m not in families}
            assert not missing, f"{DASHBOARD_PATH.name} queries metrics the proxy does not export: {missing}"
            tenant_values = {dict(ls)["tenant"] for n, ls in after if n == "sigil_litellm_generations_recorded_total"}
            assert tenant_values == set(TENANTS), tenant_values  # the dashboard's $tenant variable
            for expr in expressions(load_dashboard()):
                for tenant in [".*", *TENANTS]:
                    if tenant not in (".*", "default") and "sigil_litellm_hook_" in expr:
                        continue
                    assert not missing_data(expr, after, {"tenant": tenant}), (expr, tenant)
        series_path = os.environ.get("METRICS_SERIES_OUT")
        if series_path:
            Path(series_path).write_text(json.dumps(scraper.series))
    # the recorders marked their live gauges dead when they exited: the buffer is out of the pod's sums
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc))
    left = [s for f in registry.collect() if f.name == "sigil_litellm_buffer_items" for s in f.samples]
    assert left == [], left
