"""The cheap deep copies of what the mapping builds."""

from __future__ import annotations

import copy

from tests.unit.mapping.support import generation


def test_generation_deep_copy_shares_content_but_not_containers() -> None:
    g = generation().generation
    clone = copy.deepcopy(g)
    assert clone == copy.deepcopy(g)
    assert type(clone) is type(g)
    assert clone.input[0] is g.input[0]  # content shared
    for name in ("input", "output", "tools", "tags", "metadata"):
        assert getattr(clone, name) == getattr(g, name)
        assert getattr(clone, name) is not getattr(g, name)
    assert clone.model == g.model and clone.model is not g.model
    assert clone.usage == g.usage and clone.usage is not g.usage
    clone.metadata["x"] = 1
    clone.model.name = "changed"
    assert "x" not in g.metadata and g.model.name == "gpt-4o-mini"
    start = generation().start
    start_clone = copy.deepcopy(start)
    assert start_clone.model == start.model and start_clone.model is not start.model
