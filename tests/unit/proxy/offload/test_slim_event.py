"""slim_event keeps exactly what the mapping reads: mapping the slim copy gives the same generation."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from sigil_sdk_litellm.mapping.embeddings import map_embedding
from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.mapping.generation import map_generation
from sigil_sdk_litellm.mapping.tool_execution import map_tool_execution
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from tests.support import callback_kwargs, chat_response, failure_slo, mcp_tool_call_kwargs, standard_logging_object
from tests.unit.mapping.test_routes import (
    TOOL,
    anthropic_chat_response,
    anthropic_event,
    responses_event,
    responses_object,
)

SECRET = "sk-live-secret-key-0123456789"


def proxy_kwargs(**slo_overrides: Any) -> dict[str, Any]:
    """A proxy-shaped event: request metadata, key identity, headers and keys that must not travel."""
    slo = standard_logging_object(
        request_tags=["team-a", "User-Agent: OpenAI/Python 1.0"],
        model_group="gpt-4o-mini",
        model_id="dep-1",
        end_user="customer-1",
        metadata={
            "user_api_key_team_id": "team-1",
            "user_api_key_alias": "ci",
            "user_api_key_hash": "hash-" + SECRET,
            "user_api_key_user_id": "u-1",
            "requester_metadata": {"agent_name": "bot", "conversation_id": "conv-1", "secret": SECRET},
        },
        hidden_params={"model_id": "dep-1", "api_key": SECRET},
        model_parameters={
            "temperature": 0.1,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": "auto",
        },
        **slo_overrides,
    )
    return callback_kwargs(
        slo,
        api_key=SECRET,
        litellm_params={
            "metadata": {
                "headers": {"authorization": f"Bearer {SECRET}"},
                "agent_version": "3",
                "requester_metadata": {"agent_name": "bot", "conversation_id": "conv-1"},
            },
            "api_key": SECRET,
            "custom_llm_provider": "openai",
        },
    )


CLIENT_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def traced_kwargs(*, request_span: bool) -> dict[str, Any]:
    """A proxy event with a client's ``traceparent`` header and, with LiteLLM's ``otel`` callback on, its
    request span (a live span object) in the request metadata."""
    kwargs = proxy_kwargs()
    headers = {"traceparent": CLIENT_TRACEPARENT, "authorization": f"Bearer {SECRET}"}
    kwargs["litellm_params"]["proxy_server_request"] = {"headers": headers}
    if request_span:
        span = TracerProvider().get_tracer("litellm").start_span("Received Proxy Server Request")
        kwargs["litellm_params"]["metadata"]["litellm_parent_otel_span"] = span
    return kwargs


CASES: dict[str, tuple[dict[str, Any], Any, bool]] = {
    "sdk chat": (callback_kwargs(), None, False),
    "proxy chat": (proxy_kwargs(), None, False),
    "stream": (proxy_kwargs(stream=True, completionStartTime=1_700_000_000.5), None, False),
    "failure": (
        callback_kwargs(failure_slo(), exception=RuntimeError("upstream said no")),
        None,
        True,
    ),
    "response only in response_obj": (callback_kwargs(standard_logging_object(response={})), chat_response(), False),
    "messages only in kwargs": (
        callback_kwargs(standard_logging_object(messages=None), messages=[{"role": "user", "content": "from kwargs"}]),
        None,
        False,
    ),
    "params only in kwargs": (
        callback_kwargs(standard_logging_object(model_parameters={}), optional_params={"temperature": 0.7, "x": 1}),
        None,
        False,
    ),
    "a client's traceparent": (traced_kwargs(request_span=False), None, False),
    "LiteLLM's request span": (traced_kwargs(request_span=True), None, False),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("redacted", [False, True])
def test_mapping_the_slim_event_gives_the_same_generation(name: str, redacted: bool) -> None:
    kwargs, response, failed = CASES[name]
    assert_slim_event_maps_the_same(kwargs, response, failed=failed, redacted=redacted)


def assert_slim_event_maps_the_same(kwargs: dict[str, Any], response: Any, *, failed: bool, redacted: bool) -> None:
    """Mapping the pickled slim event gives what mapping the whole event gives (for every route)."""
    options = MappingOptions(agent_name="default", conversation_id="default-conv")
    direct = map_generation(kwargs, response, options, failed=failed, redacted=redacted)
    slim = pickle.loads(pickle.dumps(slim_event(kwargs, response, redacted=redacted)))
    via_slim = map_generation(slim, None, options, failed=failed, redacted=redacted)
    assert via_slim.generation == direct.generation
    assert via_slim.start == direct.start
    assert via_slim.first_token_at == direct.first_token_at
    assert via_slim.call_error == direct.call_error
    assert via_slim.traceparent == direct.traceparent


def test_embedding_slim_event_keeps_inputs_unless_redacted() -> None:
    slo = standard_logging_object(call_type="aembedding", response={"model": "e", "data": [], "usage": {}})
    kwargs = callback_kwargs(slo, call_type="aembedding", input=["alpha", "beta"])
    options = MappingOptions()
    direct = map_embedding(kwargs, None, options)
    via_slim = map_embedding(slim_event(kwargs), None, options)
    assert via_slim.result == direct.result and via_slim.start == direct.start
    assert "input" not in slim_event(kwargs, redacted=True)


def test_the_requests_trace_travels_as_one_traceparent() -> None:
    """The span object cannot cross a process; its context does, and no other header travels."""
    for request_span in (False, True):
        kwargs = traced_kwargs(request_span=request_span)
        span = kwargs["litellm_params"]["metadata"].get("litellm_parent_otel_span")
        slim = slim_event(kwargs, redacted=True)
        assert slim["traceparent"] == map_generation(kwargs, None, MappingOptions()).traceparent
        expected = f"{span.get_span_context().trace_id:032x}" if span else CLIENT_TRACEPARENT.split("-")[1]
        assert slim["traceparent"].split("-")[1] == expected
        data = pickle.dumps(slim)
        assert SECRET.encode() not in data and b"proxy_server_request" not in data


def test_secrets_headers_and_unread_data_never_travel() -> None:
    data = pickle.dumps(slim_event(proxy_kwargs()))
    assert SECRET.encode() not in data
    assert b"authorization" not in data.lower()
    assert b"model_map_information" not in data


def test_redacted_slim_event_has_no_content() -> None:
    slim = slim_event(proxy_kwargs(), redacted=True)
    data = pickle.dumps(slim)
    assert b"Say hello" not in data and b"Hello there!" not in data and b"You are terse." not in data
    assert slim["standard_logging_object"]["response"]["usage"]["total_tokens"] == 17


# --- the routes with their own API (Responses, Anthropic Messages) ---

ROUTE_CASES = {
    "responses": (responses_event, None),
    "responses stream": (lambda: responses_event(stream=True, completionStartTime=1_700_000_000.5), None),
    "responses bridged": (
        lambda: {**responses_event(response=anthropic_chat_response()), "input": [{"role": "system", "content": "s"}]},
        None,
    ),
    "responses object only in response_obj": (lambda: responses_event(response={}), responses_object()),
    "responses input only in kwargs": (
        lambda: {**responses_event(messages=None), "input": [{"role": "developer", "content": "d"}, "question"]},
        None,
    ),
    "responses params only in kwargs": (
        lambda: {
            **responses_event(model_parameters={}),
            "optional_params": {
                "instructions": "Be terse.",
                "max_output_tokens": 50,
                "reasoning": {"effort": "low"},
                "tools": [TOOL],
            },
        },
        None,
    ),
    "anthropic": (anthropic_event, None),
    "anthropic system in litellm_params": (
        lambda: {**anthropic_event(system=None), "litellm_params": {"system": "from params", "metadata": {}}},
        None,
    ),
    "anthropic failure": (lambda: anthropic_event(**failure_slo()), None),
}


@pytest.mark.parametrize("name", list(ROUTE_CASES))
@pytest.mark.parametrize("redacted", [False, True])
def test_the_slim_event_of_a_route_maps_the_same(name: str, redacted: bool) -> None:
    make, response = ROUTE_CASES[name]
    assert_slim_event_maps_the_same(make(), response, failed="failure" in name, redacted=redacted)


def responses_event_params_in_kwargs() -> dict[str, Any]:
    return {**responses_event(model_parameters={}), "optional_params": {"instructions": "Be terse.", "system": "x"}}


@pytest.mark.parametrize("make", [responses_event, anthropic_event, responses_event_params_in_kwargs])
def test_redacted_slim_event_of_a_route_has_no_content(make: Any) -> None:
    kwargs = make()
    kwargs["input"] = [{"role": "system", "content": "You are a bot."}]
    kwargs["standard_logging_object"]["model_parameters"]["system"] = "You are a bot."
    before = pickle.dumps(kwargs)
    data = pickle.dumps(slim_event(kwargs, None, redacted=True))
    for secret in (b"You are a bot.", b"Be terse.", b"weather?", b"Sunny.", b"let me look", b"a cat"):
        assert secret not in data, secret
    assert pickle.dumps(kwargs) == before  # LiteLLM's own payload is left as it was


MCP_CASES = ("MCP tool call", "MCP tool call failure", "MCP tool call run for a model")


@pytest.mark.parametrize("failed", [False, True])
@pytest.mark.parametrize("redacted", [False, True])
@pytest.mark.parametrize("model_call", ["", "call_7b779416a1964e97e2324828"])
def test_mcp_tool_call_slim_event_maps_the_same(failed: bool, redacted: bool, model_call: str) -> None:
    kwargs = mcp_tool_call_kwargs(failed=failed, model_tool_call_id=model_call)
    options = MappingOptions(agent_name="default", conversation_id="default-conv")
    direct = map_tool_execution(kwargs, None, options, failed=failed, redacted=redacted)
    slim = pickle.loads(pickle.dumps(slim_event(kwargs, None, redacted=redacted)))
    assert map_tool_execution(slim, None, options, failed=failed, redacted=redacted) == direct
    if redacted:  # no arguments or result travel
        assert "hi there" not in repr(slim)
    assert "mcp_server_resource" not in repr(slim), "what the mapping never reads is never copied"


# --- every key the mapping reads travels (mapping.read_fields is the one declaration) ---


class ReadLog(dict):  # type: ignore[type-arg]
    """A dict noting each key read of it (``get``, ``[]``, ``in``) with its path in the event."""

    def __init__(self, data: dict[str, Any], path: tuple[str, ...], reads: set[tuple[tuple[str, ...], str]]) -> None:
        super().__init__({key: _logged(value, (*path, key), reads) for key, value in data.items()})
        self.path, self.reads = path, reads

    def get(self, key: Any, default: Any = None) -> Any:
        self.reads.add((self.path, key))
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.reads.add((self.path, key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.reads.add((self.path, str(key)))
        return super().__contains__(key)


def _logged(value: Any, path: tuple[str, ...], reads: set[tuple[tuple[str, ...], str]]) -> Any:
    if type(value) is dict:
        return ReadLog(value, path, reads)
    if type(value) is list:
        return [_logged(item, (*path, "[]"), reads) for item in value]
    return value


def _holders(data: Any, path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The dicts at ``path`` of ``data`` ("[]": every item of a list)."""
    found = [data]
    for step in path:
        found = [
            child
            for holder in found
            for child in (holder if step == "[]" else [holder.get(step)] if isinstance(holder, dict) else [])
        ]
        found = [f for f in found if isinstance(f, dict | list)]
        if step == "[]":
            found = [f for f in found if isinstance(f, dict)]
    return [f for f in found if isinstance(f, dict)]


def keys_read_but_dropped(kwargs: dict[str, Any], response: Any, *, failed: bool) -> list[str]:
    """The keys the mapping reads of ``kwargs`` (present there) that the slim event does not carry."""
    reads: set[tuple[tuple[str, ...], str]] = set()
    options = MappingOptions(agent_name="default", conversation_id="default-conv")
    embedding = "embedding" in str(kwargs.get("call_type"))
    if embedding:
        map_embedding(ReadLog(kwargs, (), reads), response, options)
    elif kwargs.get("call_type") == "call_mcp_tool":
        map_tool_execution(ReadLog(kwargs, (), reads), response, options, failed=failed)
    else:
        map_generation(ReadLog(kwargs, (), reads), response, options, failed=failed)
    slim = slim_event(kwargs, response)
    dropped = []
    for path, key in sorted(reads):
        if not any(_has(holder, key) for holder in _holders(kwargs, path)):
            continue  # absent, None or empty: nothing to lose
        to_path, to_key = MOVED.get((path, key), (path, key))
        if not any(dict.__contains__(holder, to_key) for holder in _holders(slim, to_path)):
            dropped.append("/".join((*path, key)))
    return dropped


# where the slim event carries a key elsewhere (the route reads both places, the slim one first)
MOVED = {
    (("litellm_params",), "system"): (("optional_params",), "system"),
    # the request's trace, whichever way the event names it, travels as one traceparent
    (("litellm_params", "metadata"), "litellm_parent_otel_span"): ((), "traceparent"),
    (("litellm_params",), "proxy_server_request"): ((), "traceparent"),
    (("litellm_params", "proxy_server_request"), "headers"): ((), "traceparent"),
    (("litellm_params", "proxy_server_request", "headers"), "traceparent"): ((), "traceparent"),
}


def _has(holder: dict[str, Any], key: str) -> bool:
    """A value worth carrying (what it holds is checked by the reads of its own keys)."""
    return dict.get(holder, key) not in (None, {}, [], "")


EMBEDDING = callback_kwargs(
    standard_logging_object(call_type="aembedding", response={"model": "e", "data": [], "usage": {}}),
    call_type="aembedding",
    input=["alpha", "beta"],
)


@pytest.mark.parametrize("name", [*CASES, *ROUTE_CASES, "embedding", *MCP_CASES])
def test_every_key_the_mapping_reads_is_in_the_slim_event(name: str) -> None:
    if name == "embedding":
        kwargs, response, failed = EMBEDDING, None, False
    elif name in MCP_CASES:
        failed = name == "MCP tool call failure"
        model_call = "call_7b779416a1964e97e2324828" if name == "MCP tool call run for a model" else ""
        kwargs, response = mcp_tool_call_kwargs(failed=failed, model_tool_call_id=model_call), None
    elif name in CASES:
        kwargs, response, failed = CASES[name]
    else:
        make, response = ROUTE_CASES[name]
        kwargs, failed = make(), "failure" in name
    assert keys_read_but_dropped(kwargs, response, failed=failed) == []


def test_an_event_that_carries_nothing_is_not_handed_over() -> None:
    """The worker side drops it before slimming: the recorder never maps an empty generation."""

    class Link:
        command = ["recorder"]
        problems = ProblemLog()
        frames: list[bytes] = []

        def submit(self, frame: bytes) -> bool:
            self.frames.append(frame)
            return True

    link = Link()
    handler = OffloadingSigilLogger(link=link)
    handler.handle_event({}, None, failed=False)
    handler.handle_event({"standard_logging_object": {}}, {}, failed=True)
    assert link.frames == []
    handler.handle_event(callback_kwargs(standard_logging_object()), None, failed=False)
    assert len(link.frames) == 1
