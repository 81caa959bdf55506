"""The Grafana dashboard of deploy/grafana/ as the tests read it: the JSON, and the metric names its
queries use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DASHBOARD_PATH = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "sigil-litellm-pipeline.json"

# PromQL words that look like metric names but are functions, keywords or aggregation labels
_NOT_METRICS = {
    "sum", "rate", "irate", "increase", "max", "min", "avg", "by", "without", "histogram_quantile", "time",
    "le", "reason", "outcome", "phase", "tenant", "label_values",
}  # fmt: skip
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def load_dashboard(path: Path = DASHBOARD_PATH) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the panels' targets."""
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def queried_metrics(dashboard: dict[str, Any]) -> set[str]:
    """The metric (sample) names the panels' queries read."""
    names: set[str] = set()
    for expr in expressions(dashboard):
        bare = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
        bare = re.sub(r"\[[^\]]*\]", "", bare)  # range selectors
        bare = re.sub(r'"[^"]*"', "", bare)
        for word in _IDENTIFIER.findall(bare):
            if word not in _NOT_METRICS and not word.replace(".", "").isdigit():
                names.add(word)
    return names
