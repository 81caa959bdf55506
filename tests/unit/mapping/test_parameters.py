"""Request parameters: tools, tool choice, sampling parameters, thinking."""

from __future__ import annotations

import json
import math

import pytest

from sigil_sdk_litellm.mapping.parameters import map_thinking_enabled, map_tool_choice
from tests.support import standard_logging_object
from tests.unit.mapping.support import generation


def test_tools_and_tool_choice() -> None:
    params = {
        "tools": [
            {
                "type": "function",
                "function": {"name": "f", "description": "does f", "parameters": {"type": "object"}},
            },
            {"type": "function", "function": {"description": "nameless"}},
        ],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
    }
    g = generation(standard_logging_object(model_parameters=params)).generation
    assert [(t.name, t.description, t.type) for t in g.tools] == [("f", "does f", "function")]
    assert json.loads(g.tools[0].input_schema_json) == {"type": "object"}
    assert g.tool_choice == "f"
    assert map_tool_choice("auto") == "auto"
    assert map_tool_choice({"type": "required"}) == "required"
    assert map_tool_choice(None) is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"temperature": 0.2, "max_tokens": 64, "top_p": 0.9}, (0.2, 64, 0.9)),
        ({"temperature": "0.5", "max_tokens": "100", "top_p": 1}, (0.5, 100, 1.0)),
        ({"temperature": "hot", "max_tokens": [], "top_p": True}, (None, None, None)),
        ({"temperature": math.nan, "max_tokens": -3, "top_p": math.inf}, (None, None, None)),
        ({"max_completion_tokens": 77}, (None, 77, None)),
        ({}, (None, None, None)),
    ],
)
def test_model_parameters_tolerate_junk(params: dict, expected: tuple) -> None:
    g = generation(standard_logging_object(model_parameters=params)).generation
    assert (g.temperature, g.max_tokens, g.top_p) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, True),
        ({"thinking": {"type": "disabled"}}, False),
        ({"reasoning_effort": "high"}, True),
        ({"reasoning_effort": "none"}, False),
        ({}, None),
    ],
)
def test_thinking_enabled(params: dict, expected: bool | None) -> None:
    assert map_thinking_enabled(params) is expected
