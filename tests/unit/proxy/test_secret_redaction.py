"""SIGIL_REDACT_SECRETS on plain events: every pattern family of sigil-sdk's redaction, every place content
sits in a slim event, identity left alone, LiteLLM's payload untouched; then both callbacks of the worker —
in process (a real ``sigil_sdk.Client``, its spans in memory) and the hand-off (the frames it submits).

The same samples go through the real proxy in tests/integration/test_secret_redaction_proxy.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sigil_sdk import redaction as sdk_redaction

from bench.conversations import conversation
from sigil_sdk_litellm.mapping import MappingOptions, map_generation
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.clean_texts import CleanTexts
from sigil_sdk_litellm.proxy.handoff.frames import decode_frame
from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from sigil_sdk_litellm.proxy.redacting_handler import SecretRedactingLogger
from sigil_sdk_litellm.proxy.secret_redaction import (
    SecretRedactor,
    _event_texts,
    _raw_texts,
    _texts,
    build_secret_redactor,
)
from tests.bench_events import bench_events
from tests.secret_samples import SAMPLES, Sample, sdk_redacts
from tests.support import (
    callback_kwargs,
    chat_response,
    deep,
    failure_slo,
    mcp_tool_call_kwargs,
    span_capturing_client,
    standard_logging_object,
)

TIERS = ("lightweight", "full")
EVERY_SECRET = " ".join(sample.text for sample in SAMPLES)


def _chat_event(text: str) -> dict[str, Any]:
    """A chat event with ``text`` everywhere a chat carries content: system and user messages, a tool call's
    arguments and the tool's result in the history, the answer and its tool call, the tools' descriptions."""
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": json.dumps({"q": text})},
    }
    messages = [
        {"role": "system", "content": f"ops notes: {text}"},
        {"role": "user", "content": [{"type": "text", "text": f"check {text}"}]},
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"found {text}"},
    ]
    answer = {"role": "assistant", "content": f"it is {text}", "tool_calls": [{**tool_call, "id": "call_2"}]}
    tools = [{"type": "function", "function": {"name": "lookup", "description": f"finds {text}", "parameters": {}}}]
    response = chat_response(choices=[{"index": 0, "finish_reason": "tool_calls", "message": answer}])
    slo = standard_logging_object(
        messages=messages,
        response=response,
        model_parameters={"temperature": 0.2, "tools": tools},
        end_user="carol@example.com",
        request_tags=["owner:carol@example.com"],
        metadata={"requester_metadata": None, "user_api_key_user_id": "carol@example.com"},
    )
    return callback_kwargs(slo, user="carol@example.com")


def test_the_samples_cover_every_pattern_family_of_the_sdk() -> None:
    """If sigil-sdk adds a family, tests/secret_samples.py needs a sample of it."""
    families = {p.id for p in (*sdk_redaction._TIER1_PATTERNS, sdk_redaction._EMAIL_PATTERN)}
    families |= {p.id for p in sdk_redaction._TIER2_PATTERNS}
    assert {sample.family for sample in SAMPLES} == families


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.family for s in SAMPLES])
def test_each_family_is_redacted_as_the_sdk_redacts_it(sample: Sample, tier: str) -> None:
    event = slim_event(callback_kwargs(standard_logging_object(messages=[{"role": "user", "content": sample.text}])))
    [message] = SecretRedactor(tier)(event)["standard_logging_object"]["messages"]  # type: ignore[arg-type]
    assert message["content"] == sdk_redacts(sample, tier)
    redacts = tier == "full" or sample.tier == "lightweight"
    assert (sample.body in message["content"]) is not redacts
    assert (f"[REDACTED:{sample.family}]" in message["content"]) is redacts


@pytest.mark.parametrize("tier", TIERS)
def test_a_generation_mapped_from_the_redacted_event_holds_no_secret(tier: str) -> None:
    kwargs = _chat_event(EVERY_SECRET)
    before = deep(kwargs)
    event = SecretRedactor(tier)(slim_event(kwargs))
    record = map_generation(event, None, MappingOptions())
    shipped = repr(record.generation) + repr(record.start)
    leaked = [s.family for s in SAMPLES if s.body in shipped]
    assert leaked == ([] if tier == "full" else ["env-secret-value"])
    # every place was redacted, and the generation still has its shape
    generation = record.generation
    assert "[REDACTED:github-pat]" in generation.system_prompt
    assert {m.role.value for m in generation.input} == {"user", "assistant", "tool"}
    assert len(generation.output[0].parts) == 2  # the answer's text and its tool call
    # who it is about is no secret: identity is kept (an e-mail address as the user id stays the user id)
    assert generation.user_id == "carol@example.com"
    assert kwargs == before, "LiteLLM's payload is shared with other callbacks: never changed"


def test_the_sdks_patterns_are_searched_at_once_with_re2() -> None:
    """The fast path is on: RE2 took every pattern of the SDK (if a release moves them, this says so)."""
    for tier in TIERS:
        assert SecretRedactor(tier).prefilter is not None


# pieces the texts below are made of: every sample, its halves, what sits at a pattern's edges (Unicode
# spaces, a non-ASCII letter before a word boundary, a private key's lines on their own, `KEY =` forms)
_PIECES = [
    *(s.text for s in SAMPLES),
    *(s.text[: len(s.text) // 2] for s in SAMPLES),
    *(s.text[len(s.text) // 2 :] for s in SAMPLES),
    "-----BEGIN EC PRIVATE KEY-----",
    "-----END EC PRIVATE KEY-----",
    "API_KEY",
    "password",
    " = ",
    ":",
    "\u00a0",
    "\u2003",
    "\x1f",
    "\x0b",
    "\n",
    " ",
    "é",
    "\u212a",
    "Bearer",
    "@",
    "example.org",
    "x",
    '"',
    "mysql://",
]


@settings(max_examples=300, deadline=None)
@example("full", ["API_KEY\u00a0=\u2003hunter2"])  # Unicode spaces: RE2's own \s would miss these
@example("lightweight", [f"Bearer\u00a0{'x' * 24}"])
@example("lightweight", ["-----BEGIN RSA PRIVATE KEY-----", "abc", "-----END RSA PRIVATE KEY-----"])
@example("lightweight", [f"é{SAMPLES[3].text}", f"{SAMPLES[2].text}é"])  # non-ASCII letters at a \b
@given(
    st.sampled_from(TIERS),
    st.lists(st.lists(st.sampled_from(_PIECES), max_size=6).map("".join), min_size=1, max_size=5),
)
def test_the_prefilter_never_changes_what_the_sdk_makes_of_a_text(tier: str, texts: list[str]) -> None:
    redactor = SecretRedactor(tier)  # type: ignore[arg-type]
    assert redactor.redact_texts(texts) == _sdk_changes(texts, tier)


def _sdk_changes(texts: list[str], tier: str) -> dict[str, str]:
    """Each text sigil-sdk's own sanitizer changes, text by text → what it makes of it."""
    changes = {}
    for text in texts:
        made = sdk_redacts(Sample("any", text, text, tier), tier)
        if made != text:
            changes[text] = made
    return changes


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(TIERS),
    st.lists(
        st.lists(st.lists(st.sampled_from(_PIECES), max_size=4).map("".join), min_size=1, max_size=4),
        min_size=2,
        max_size=4,
    ),
)
def test_texts_remembered_as_clean_never_change_what_the_sdk_makes_of_later_events(
    tier: str, events: list[list[str]]
) -> None:
    """One redactor over several events sharing texts (an agent chat's history): each event redacted as the
    SDK redacts it, and no text the SDK changes is ever remembered as clean."""
    redactor = SecretRedactor(tier)  # type: ignore[arg-type]
    for texts in events:
        expected = _sdk_changes(texts, tier)
        assert redactor.redact_texts(texts) == expected
        assert not any(text in redactor.clean for text in expected)


def _scans_recorded(redactor: SecretRedactor) -> list[str]:
    """What ``redactor``'s RE2 prefilter is given from now on (the texts joined), one entry a scan."""
    prefilter = redactor.prefilter
    assert prefilter is not None
    scanned: list[str] = []

    def recording(joined: str) -> Any:
        scanned.append(joined)
        return prefilter(joined)

    redactor.prefilter = recording
    return scanned


def test_a_text_found_clean_is_not_scanned_again_and_a_secret_always_is() -> None:
    redactor = SecretRedactor("full")
    scanned = _scans_recorded(redactor)
    secret = f"use {SAMPLES[3].text}"
    history = ["You are an SRE assistant.", "Why does the probe fail?", "The port changed."]
    assert redactor.redact_texts([*history, secret]) == {secret: "use [REDACTED:github-pat]"}
    assert redactor.redact_texts([*history, secret, "Roll it back.", history[0]]) == {
        secret: "use [REDACTED:github-pat]"
    }
    assert redactor.redact_texts([*history, "Roll it back."]) == {}
    assert scanned == ["\n".join([*history, secret]), f"{secret}\nRoll it back."]


def test_an_agent_chats_history_found_clean_is_not_read_again_and_a_new_secret_always_is() -> None:
    """Turn by turn, each event's messages found clean are held as a list: the next turn reads only the
    messages it adds. A secret in an added message (or in a history never found clean) is found every time."""
    scanned: list[list[str]] = []

    class Recording(SecretRedactor):
        def redact_texts(self, texts: list[str]) -> dict[str, str]:
            scanned.append(list(texts))
            return super().redact_texts(texts)

    redactor = Recording("full")
    chat_42 = conversation(42)
    secret = SAMPLES[3].text

    def event(n: int, *, with_secret: bool) -> dict[str, Any]:
        messages = json.loads(json.dumps(chat_42[:n]))  # parsed anew, as each request
        if with_secret:
            messages[17]["content"] += f" my token is {secret}"
        slo = standard_logging_object(id=f"c{n}", litellm_call_id=f"c{n}", messages=messages)
        return callback_kwargs(slo, litellm_call_id=f"c{n}", messages=messages)

    for n in range(4, 20):
        redactor.clean = CleanTexts()  # forget single texts: only the list knowledge remains
        kwargs = event(n, with_secret=False)
        assert redactor.holds_no_secret(kwargs, None)
        every_text = _raw_texts(kwargs, None)
        assert every_text is not None
        history = sum(len(_texts_of(message)) for message in chat_42[: n - 1]) if n > 4 else 0
        assert len(scanned[-1]) == len(every_text) - history > 0, n  # the turn before's messages were not read
    for n in (18, 19, 30, 42):
        assert not redactor.holds_no_secret(event(n, with_secret=True), None), n
    assert redactor.holds_no_secret(event(19, with_secret=False), None)
    assert len(redactor.conversations) == 1


def test_each_answers_new_id_is_not_scanned_but_its_text_is() -> None:
    """The answer's id is new with every request: like the other ids it is not content, so an event that
    differs from the last only by it scans nothing; the answer's text is scanned as before."""
    redactor = SecretRedactor("full")
    scanned = _scans_recorded(redactor)

    def event(ident: str, answer: str) -> dict[str, Any]:
        choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}
        slo = standard_logging_object(id=ident, response=chat_response(id=ident, choices=[choice]))
        return callback_kwargs(slo, litellm_call_id=ident)

    assert redactor.holds_no_secret(event("chatcmpl-1", "the port changed"), None)
    assert len(scanned) == 1 and "chatcmpl-1" not in scanned[0]
    assert redactor.holds_no_secret(event("chatcmpl-2", "the port changed"), None)
    assert len(scanned) == 1  # nothing new to scan
    assert not redactor.holds_no_secret(event("chatcmpl-3", f"use {SAMPLES[3].text}"), None)
    secret_answer = event("chatcmpl-4", f"use {SAMPLES[3].text}")
    slim = redactor(slim_event(secret_answer, None, redacted=False))
    assert SAMPLES[3].body not in json.dumps(slim, default=str)
    assert slim["standard_logging_object"]["response"]["id"] == "chatcmpl-4"


def _texts_of(message: dict[str, Any]) -> list[str]:
    found: list[str] = []
    _texts(message, found.append)
    return found


def _every_route_event() -> list[tuple[str, dict[str, Any], Any]]:
    from tests.unit.proxy.offload.test_slim_event import CASES, EMBEDDING, ROUTE_CASES

    events = [(name, kwargs, response) for name, (kwargs, response, _) in CASES.items()]
    events += [(name, make(), response) for name, (make, response) in ROUTE_CASES.items()]
    events += [("embedding", EMBEDDING, None), ("chat with secrets everywhere", _chat_event(EVERY_SECRET), None)]
    events += [(f"mcp {failed}", mcp_tool_call_kwargs(failed=failed), None) for failed in (False, True)]
    events += [(f"bench {i}", kwargs, None) for i, (kwargs, _) in enumerate(bench_events())]
    return events


@pytest.mark.parametrize("redacted", [False, True])
def test_the_raw_events_texts_hold_every_text_of_its_slim_event(redacted: bool) -> None:
    """holds_no_secret reads LiteLLM's own event: every text the slim event would hold is among those it
    scans, for every route (or it declines, and the event is slimmed and redacted)."""
    declined = []
    for name, kwargs, response in _every_route_event():
        raw = _raw_texts(kwargs, response)
        if raw is None:
            declined.append(name)
            continue
        slim = _event_texts(slim_event(kwargs, response, redacted=redacted))
        assert set(slim) <= set(raw), name
    assert declined == ["failure", "response only in response_obj", "responses object only in response_obj", "mcp True"]


def test_an_event_holding_no_secret_is_recorded_as_litellm_logged_it() -> None:
    """No copy where there is nothing to redact: the same generation as the slim event's, and a secret
    anywhere the slim event would carry it sends the event the slow way."""
    redactor = SecretRedactor("full")
    clean = _chat_event("the readiness probe")
    assert redactor.holds_no_secret(clean, None)
    for sample in SAMPLES:
        assert not redactor.holds_no_secret(_chat_event(sample.text), None), sample.family
    kwargs = mcp_tool_call_kwargs()
    kwargs["standard_logging_object"]["metadata"]["mcp_tool_call_metadata"]["arguments"] = {"t": SAMPLES[0].text}
    assert not redactor.holds_no_secret(kwargs, None)
    fast, slow = (span_capturing_client() for _ in range(2))
    now = datetime.now()
    SecretRedactingLogger(client=fast[0], options=MappingOptions(), redactor=redactor).log_success_event(
        clean, None, now, now
    )
    SecretRedactingLogger(client=slow[0], options=MappingOptions(), redactor=lambda e: e).log_success_event(
        clean, None, now, now
    )
    for client, _, _ in (fast, slow):
        client.flush()
    [recorded], [slimmed] = fast[1].generations, slow[1].generations  # each client's spans: their own ids
    assert dataclasses.replace(recorded, trace_id="", span_id="") == dataclasses.replace(
        slimmed, trace_id="", span_id=""
    )


def test_an_event_without_secrets_is_returned_as_it_is() -> None:
    event = slim_event(callback_kwargs())
    assert SecretRedactor("full")(event) is event


def test_only_containers_holding_a_secret_are_copied() -> None:
    event = slim_event(_chat_event(SAMPLES[0].text))
    event["standard_logging_object"]["model_parameters"]["clean"] = clean = {"a": ["b"]}
    redacted = SecretRedactor("lightweight")(event)
    assert redacted is not event
    assert redacted["standard_logging_object"]["model_parameters"]["clean"] is clean
    assert redacted["litellm_params"] is event["litellm_params"]


def test_errors_and_the_exception_text_are_redacted() -> None:
    secret = SAMPLES[3]  # a GitHub token an upstream echoed in its error
    slo = failure_slo(error_str=f"bad token {secret.text}")
    slo["error_information"]["error_message"] = f"bad token {secret.text}"
    kwargs = callback_kwargs(slo, exception=ValueError(f"rejected {secret.text}"))
    event = SecretRedactor("lightweight")(slim_event(kwargs))
    assert secret.body not in repr(event)
    assert event["exception"] == "rejected [REDACTED:github-pat]"


def test_an_mcp_tool_calls_arguments_are_redacted_and_its_metadata_kept() -> None:
    secret = SAMPLES[0]
    kwargs = mcp_tool_call_kwargs(user_api_key_user_id="dave@example.com")
    call = kwargs["standard_logging_object"]["metadata"]["mcp_tool_call_metadata"]
    call["arguments"] = {"text": f"deploy with {secret.text}"}
    event = SecretRedactor("full")(slim_event(kwargs))
    metadata = event["standard_logging_object"]["metadata"]
    assert metadata["mcp_tool_call_metadata"]["arguments"] == {"text": "deploy with [REDACTED:grafana-cloud-token]"}
    assert metadata["mcp_tool_call_metadata"]["name"] == "echo"
    assert metadata["user_api_key_user_id"] == "dave@example.com"
    assert call["arguments"] == {"text": f"deploy with {secret.text}"}, "LiteLLM's own record is untouched"


def test_off_builds_no_redactor() -> None:
    assert build_secret_redactor("off") is None
    assert repr(build_secret_redactor("lightweight")) == "SecretRedactor('lightweight')"


def test_in_process_the_generation_and_its_spans_hold_no_secret() -> None:
    client, exporter, spans = span_capturing_client()
    handler = SecretRedactingLogger(client=client, options=MappingOptions(), redactor=SecretRedactor("full"))
    kwargs = _chat_event(EVERY_SECRET)
    before = deep(kwargs)
    now = datetime.now()
    handler.log_success_event(kwargs, None, now, now)
    handler.log_failure_event(
        callback_kwargs(failure_slo(error_str=EVERY_SECRET), litellm_call_id="c2"), None, now, now
    )
    client.flush()
    assert len(exporter.generations) == 2
    shipped = repr(exporter.generations) + repr(
        [(s.attributes, s.events, s.status) for s in spans.get_finished_spans()]
    )
    assert [s.family for s in SAMPLES if s.body in shipped] == []
    assert "[REDACTED:openai-project-key]" in shipped
    assert kwargs == before
    assert handler.problems.counts == {}


class _Frames:
    """The link of the hand-off, keeping what it is given (what the pipe or the spool would write)."""

    command = ["recorder"]

    def __init__(self) -> None:
        self.problems = ProblemLog()
        self.frames: list[bytes] = []

    def submit(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True


def test_the_hand_off_frames_no_secret() -> None:
    link = _Frames()
    handler = OffloadingSigilLogger(link=link, redactor=SecretRedactor("full"))
    now = datetime.now()
    handler.log_success_event(_chat_event(EVERY_SECRET), None, now, now)
    handler.log_success_event(mcp_tool_call_kwargs(), None, now, now)
    assert len(link.frames) == 2
    assert [s.family for s in SAMPLES if any(s.body.encode() in frame for frame in link.frames)] == []
    _, _, event = decode_frame(link.frames[0])
    assert "[REDACTED:private-key]" in event["standard_logging_object"]["messages"][0]["content"]


def test_an_event_that_cannot_be_redacted_is_dropped_and_the_problem_names_no_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"cannot redact {EVERY_SECRET}")

    link = _Frames()
    handler = OffloadingSigilLogger(link=link, redactor=broken)
    client, exporter, _ = span_capturing_client()
    in_process = SecretRedactingLogger(client=client, options=MappingOptions(), redactor=broken)
    now = datetime.now()
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        for callback in (handler, in_process):
            callback.log_success_event(_chat_event(EVERY_SECRET), None, now, now)
            assert callback.problems.counts == {"redaction:RuntimeError": 1}
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 2 and all("redacting its secrets failed (RuntimeError)" in m for m in logged), logged
    assert [s.family for s in SAMPLES if any(s.body in m for m in logged)] == []
    client.flush()
    assert link.frames == [] and exporter.generations == []
