"""The Grafana dashboard of deploy/grafana/ as the tests read it: the JSON, the metric names its queries
use, and whether a query would return data from a scrape."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARD_PATH = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "sigil-litellm-pipeline.json"

# PromQL words that look like metric names but are functions, keywords or aggregation labels
_NOT_METRICS = {
    "sum", "rate", "irate", "increase", "max", "min", "avg", "by", "without", "histogram_quantile", "time",
    "le", "reason", "outcome", "phase", "tenant", "label_values",
}  # fmt: skip
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_GROUPING = re.compile(r"\bby\s*\(([^)]*)\)")

# one scrape: (sample name, sorted label pairs) → value, as bench.pipeline_metrics_plot.parse gives it
Scrape = Mapping[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass(frozen=True)
class Selector:
    """One series selector of a query: the metric, its label matchers, the labels the query groups by."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...]
    grouping: tuple[str, ...]

    def matches(self, labels: Mapping[str, str], variables: Mapping[str, str]) -> bool:
        for label, op, value in self.matchers:
            for name, replacement in variables.items():
                value = value.replace(f"${name}", replacement)
            have = labels.get(label, "")
            hit = re.fullmatch(value, have) is not None if op in ("=~", "!~") else have == value
            if hit != (op in ("=", "=~")):
                return False
        return True


def load_dashboard(path: Path = DASHBOARD_PATH) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the panels' targets."""
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def selectors(expr: str) -> list[Selector]:
    """The series selectors of ``expr`` (the dashboard's queries group by ``by (…)`` over all of them)."""
    grouping = tuple(label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label.strip())
    bare = _GROUPING.sub("", re.sub(r"\[[^\]]*\]", "", expr))  # range selectors and grouping clauses
    out: list[Selector] = []
    for name, braces in _SELECTOR.findall(re.sub(r'"[^"]*"(?![^{]*\})', "", bare)):
        if name in _NOT_METRICS or name.replace(".", "").isdigit():
            continue
        out.append(Selector(name, tuple(_MATCHER.findall(braces or "")), grouping))
    return out


def queried_metrics(dashboard: dict[str, Any]) -> set[str]:
    """The metric (sample) names the panels' queries read."""
    return {selector.metric for expr in expressions(dashboard) for selector in selectors(expr)}


def missing_data(expr: str, scrape: Scrape, variables: Mapping[str, str]) -> list[str]:
    """What of ``expr`` would return nothing from ``scrape`` with the dashboard ``variables`` set: each
    selector needs a sample it matches that carries every label the query groups by."""
    problems = []
    for selector in selectors(expr):
        hits = [
            labels
            for (name, pairs), _ in scrape.items()
            if name == selector.metric and selector.matches(labels := dict(pairs), variables)
        ]
        if not hits:
            problems.append(f"{selector.metric}: no sample with {variables}")
        elif not any(set(selector.grouping) <= set(labels) for labels in hits):
            problems.append(f"{selector.metric}: no sample labelled {selector.grouping}")
    return problems
