"""A system prompt is the generation's ``system_prompt`` only, never a user message, on every route, through
the real proxy in both recorder placements (issue #24: LiteLLM logs ``/v1/messages``'s string ``system`` as a
system-role message, which was recorded a second time as a first user message). The stack is
``test_proxy_routes``'s (its fixtures, one proxy per placement)."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_proxy_routes import Stack, conversation, stack
from tests.scenarios import texts, tool_results

# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy_system_prompt")]
__all__ = ["stack"]  # the fixture, used by name (the fake upstream is tests/integration/conftest.py's)


@pytest.mark.parametrize("streamed", [False, True], ids=["sync", "stream"])
def test_messages_system_string_is_the_system_prompt_only(stack: Stack, streamed: bool) -> None:
    conv = conversation()
    history = [
        {"role": "user", "content": "weather in berlin?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_3", "name": "lookup", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_3", "content": '{"sky": "clear"}'}]},
    ]
    client = stack.anthropic(conv)
    if streamed:
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, system="Be nice.", messages=history) as s:
            s.get_final_message()
    else:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, system="Be nice.", messages=history)  # type: ignore[arg-type]
    g = stack.only(conv)
    assert g["system_prompt"] == "Be nice."
    assert texts(g["input"]) == ["weather in berlin?"]
    assert [m["role"] for m in g["input"]] == ["MESSAGE_ROLE_USER", "MESSAGE_ROLE_ASSISTANT", "MESSAGE_ROLE_TOOL"]
    [result] = tool_results(g["input"])
    assert json.loads(result["content"]) == {"sky": "clear"}
    assert result["content_json"]  # the JSON kept as JSON too, as for chat tool results


def test_chat_and_responses_system_prompt_only(stack: Stack) -> None:
    conv = conversation()
    client = stack.openai(conv)
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hi"}],
    )
    client.responses.create(
        model="gpt-4o-mini",
        input=[{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hi"}],
    )
    generations = stack.sink.wait_for(2, conversation_id=conv, settle=0.5)
    assert len(generations) == 2
    for g in generations:
        assert g["system_prompt"] == "Be nice."
        assert texts(g["input"]) == ["hi"]
        assert [m["role"] for m in g["input"]] == ["MESSAGE_ROLE_USER"]
