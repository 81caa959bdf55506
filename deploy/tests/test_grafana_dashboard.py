"""deploy/grafana/sigil-litellm-pipeline.json loads as a Grafana dashboard model (grafana-foundation-sdk)
and queries only what the proxy exports. (That those metrics are in a real scrape of the proxy:
tests/integration/test_pipeline_metrics_proxy.py.)"""

from __future__ import annotations

import re

from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import prometheus
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel
from prometheus_client import CollectorRegistry

from sigil_sdk_litellm.proxy.metrics import PipelineMetrics
from tests.grafana_dashboard import expressions, load_dashboard, missing_data, queried_metrics, selectors

# LiteLLM's request metrics (its `prometheus` callback) the dashboard sets ours against
LITELLM_METRICS = {"litellm_proxy_total_requests_metric_total"}


def model() -> Dashboard:
    register_default_plugins()  # so a target becomes a prometheus.Dataquery, not an unknown query
    return Dashboard.from_json(load_dashboard())


def our_sample_names() -> set[str]:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    metrics.delivery()
    metrics.hooks()
    metrics.handoff()
    metrics.spool()
    return {sample.name for family in registry.collect() for sample in family.samples}


def test_the_dashboard_loads_as_a_model_with_prometheus_panels() -> None:
    dashboard = model()
    assert dashboard.uid == "sigil-litellm-pipeline" and dashboard.title
    panels = [p for p in dashboard.panels or [] if isinstance(p, Panel)]
    assert len(panels) == len(load_dashboard()["panels"]) >= 6
    variables = {v.name: v for v in dashboard.templating.list_val or []}
    assert variables["datasource"].type_val == "datasource" and variables["datasource"].query == "prometheus"
    assert "tenant" in variables
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel.datasource is not None and panel.datasource.uid == "${datasource}", panel.title
        assert panel.datasource.type_val == "prometheus"
        assert panel.targets, panel.title
        ref_ids = [t.ref_id for t in panel.targets]
        assert len(set(ref_ids)) == len(ref_ids), panel.title
        for target in panel.targets:
            assert isinstance(target, prometheus.Dataquery), (panel.title, type(target))
            assert target.expr and target.expr.count("(") == target.expr.count(")"), target.expr
        grid = panel.grid_pos
        assert grid is not None and grid.x + grid.w <= 24, panel.title
        mine = {(grid.x + dx, grid.y + dy) for dx in range(grid.w) for dy in range(grid.h)}
        assert not mine & cells, f"{panel.title} overlaps another panel"
        cells |= mine
    titles = " | ".join(p.title or "" for p in panels).lower()
    for topic in ("delivery rate vs request rate", "drops", "buffer", "latency", "hook outcomes"):
        assert topic in titles, topic


def test_every_query_names_a_metric_the_proxy_exports() -> None:
    queried = queried_metrics(load_dashboard())
    ours = our_sample_names()
    assert queried - LITELLM_METRICS <= ours, queried - LITELLM_METRICS - ours
    # every family of ours is on the dashboard (an unshown metric is a forgotten one)
    families = {re.sub(r"_(bucket|count|sum)$", "", n) for n in ours if not n.endswith("_created")}
    shown = {re.sub(r"_(bucket|count|sum)$", "", n) for n in queried}
    assert families <= shown, families - shown


def test_every_query_of_ours_filters_by_tenant() -> None:
    for expr in expressions(load_dashboard()):
        for selector in re.findall(r"sigil_litellm_\w+(\{[^}]*\})?", expr):
            assert selector == '{tenant=~"$tenant"}', expr


def test_a_query_returns_data_only_when_a_sample_matches_its_selectors_and_grouping() -> None:
    expr = 'sum by (reason) (rate(sigil_litellm_generations_dropped_total{tenant=~"$tenant"}[$__rate_interval]))'
    [selector] = selectors(expr)
    assert (selector.metric, selector.matchers, selector.grouping) == (
        "sigil_litellm_generations_dropped_total",
        (("tenant", "=~", "$tenant"),),
        ("reason",),
    )
    dropped = "sigil_litellm_generations_dropped_total"
    scrape = {(dropped, (("reason", "buffer_full"), ("tenant", "alpha"))): 3.0}
    assert missing_data(expr, scrape, {"tenant": "alpha"}) == []
    assert missing_data(expr, scrape, {"tenant": ".*"}) == []
    assert missing_data(expr, scrape, {"tenant": "beta"}), "no sample of beta"
    assert missing_data(expr, scrape, {"tenant": "alph"}), "=~ matches the whole value"
    unlabelled = {(dropped, (("tenant", "alpha"),)): 3.0}
    assert missing_data(expr, unlabelled, {"tenant": "alpha"}), "grouped by a label the samples lack"
    ratio = "time() - max(sigil_litellm_last_successful_export_timestamp_seconds)"
    assert [s.metric for s in selectors(ratio)] == ["sigil_litellm_last_successful_export_timestamp_seconds"]
    assert missing_data(ratio, scrape, {}), "another metric's samples are no data"
