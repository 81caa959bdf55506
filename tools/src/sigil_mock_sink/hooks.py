"""Sigil's synchronous hooks, ``POST /api/v1/hooks:evaluate``, with rules the sink is given.

The real server evaluates the "hooks and guards" rules configured in Sigil; the sink evaluates a
small rule set of its own so that a client (the LiteLLM proxy's pre-call hook, ``sigil_sdk``'s
``Client.evaluate_hook``) can be tested against real HTTP: allow, deny, and transform (redaction).

Wire format (``sigil_sdk.hooks``): the request is ``{"phase", "context": {"model": {"provider",
"name"}, "agent_name", "agent_version", "tags"}, "input": {"messages": [{"role", "parts", "name"}],
"tools", "system_prompt", "output", "conversation_preview"}}`` (empty fields left out; a part is one
of ``text``, ``thinking``, ``tool_call`` or ``tool_result``, byte fields base64). The answer is
``{"action": "allow" | "deny", "rule_id", "reason", "transformed_input", "evaluations"}``. The sink
parses the request strictly (an unknown key or a wrong type is a 400 naming it), so a client that
drifts from the format fails its tests. Credentials are checked exactly as for ingest (401 first).

Rules, in order (``--hook-rules FILE`` at start, ``POST /api/v1/hook-rules`` at run time)::

    {"rules": [
      {"id": "no-secrets", "action": "deny", "pattern": "(?i)password", "reason": "no passwords"},
      {"id": "cards", "action": "redact", "pattern": "\\\\b(?:\\\\d[ -]?){13,16}\\\\b", "replacement": "[CARD]"}
    ]}

``id`` (unique) and ``pattern`` (a Python regular expression, searched in every text of the input:
message texts, thinking, tool results, the system prompt) are required; ``action`` is ``deny``
(default) or ``redact``; ``reason`` is the deny reason; ``replacement`` the redact text (default
``[REDACTED]``); ``phases`` (default ``["preflight"]``) and the optional ``model`` (model name),
``agent_name`` and ``tags`` (all must match) narrow where a rule applies. Rules run in order over
the input as the earlier redactions left it; the first deny wins. When a redaction changed
something the answer is ``allow`` with ``transformed_input`` (messages and system prompt, the
messages in the request's order and structure).

Hook faults (``POST /api/v1/hook-faults``, separate from the ingest faults): ``delay_ms`` before
answering, ``unavailable`` (answer ``error_status``, default 503), ``drop_connections``. Every
evaluation is kept (the last 1000) for ``GET /api/v1/hook-evaluations``: tenant, the request as
sent, the timeout header, the answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from .auth import AuthError
from .faults import as_bool, as_choice, as_number, check_keys

EVALUATE_PATH = "/api/v1/hooks:evaluate"
TIMEOUT_HEADER = "X-Sigil-Hook-Timeout-Ms"
PHASES = ("preflight", "postflight")
ACTIONS = ("deny", "redact")
DEFAULT_REPLACEMENT = "[REDACTED]"
KEPT_EVALUATIONS = 1000
FAULT_KEYS = ("delay_ms", "unavailable", "error_status", "drop_connections")
FAULT_STATUSES = (429, 500, 502, 503, 504)


class HookRequestError(ValueError):
    """The request is not in the hooks wire format: HTTP 400 with this message."""


# --------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern[str]
    action: str = "deny"
    reason: str = ""
    replacement: str = DEFAULT_REPLACEMENT
    phases: tuple[str, ...] = ("preflight",)
    model: str = ""
    agent_name: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def applies(self, phase: str, context: Mapping[str, Any]) -> bool:
        if phase not in self.phases:
            return False
        if self.model and context.get("model", {}).get("name", "") != self.model:
            return False
        if self.agent_name and context.get("agent_name", "") != self.agent_name:
            return False
        tags = context.get("tags", {})
        return all(tags.get(key) == value for key, value in self.tags.items())

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "action": self.action, "pattern": self.pattern.pattern}
        if self.action == "deny":
            out["reason"] = self.reason
        else:
            out["replacement"] = self.replacement
        out["phases"] = list(self.phases)
        for key in ("model", "agent_name"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.tags:
            out["tags"] = dict(self.tags)
        return out


_RULE_KEYS = ("id", "action", "pattern", "reason", "replacement", "phases", "model", "agent_name", "tags")


def parse_rules(data: Any) -> list[Rule]:
    """A rule set from JSON (``{"rules": [...]}`` or the bare list); ValueError names the problem."""
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"rules"})
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (expected {{'rules': [...]}})")
        data = data.get("rules", [])
    if not isinstance(data, list):
        raise ValueError("rules must be a JSON list of rule objects")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(data, start=1):
        where = f"rule {index}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is not an object")
        unknown = sorted(set(item) - set(_RULE_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_RULE_KEYS)})")
        rule_id = item.get("id")
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise ValueError(f"{where}: 'id' must be a non-empty string")
        where = f"rule {rule_id!r}"
        if rule_id in seen:
            raise ValueError(f"{where} appears twice")
        seen.add(rule_id)
        action = item.get("action", "deny")
        if action not in ACTIONS:
            raise ValueError(f"{where}: 'action' must be one of {', '.join(ACTIONS)}")
        pattern = item.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"{where}: 'pattern' must be a non-empty string")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{where}: 'pattern' is not a regular expression ({exc})") from None
        strings: dict[str, str] = {}
        for key in ("reason", "replacement", "model", "agent_name"):
            value = item.get(key, DEFAULT_REPLACEMENT if key == "replacement" else "")
            if not isinstance(value, str):
                raise ValueError(f"{where}: {key!r} must be a string")
            strings[key] = value
        phases = item.get("phases", ["preflight"])
        if not isinstance(phases, list) or not phases or any(p not in PHASES for p in phases):
            raise ValueError(f"{where}: 'phases' must be a non-empty list of {', '.join(PHASES)}")
        tags = item.get("tags", {})
        if not isinstance(tags, dict) or any(not isinstance(v, str) for v in tags.values()):
            raise ValueError(f"{where}: 'tags' must be an object of strings")
        rules.append(Rule(rule_id, compiled, action, phases=tuple(phases), tags=dict(tags), **strings))
    return rules


def load_rules_file(path: str | Path) -> tuple[list[Rule], dict[str, Any]]:
    """Rules (and optional hook faults, ``{"rules": [...], "faults": {...}}``) from a JSON file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read hook rules file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"hook rules file {path} is not JSON: {exc.msg} at character {exc.pos}") from None
    faults: dict[str, Any] = {}
    if isinstance(data, dict) and "faults" in data:
        data = dict(data)
        faults = data.pop("faults")
        if not isinstance(faults, dict):
            raise ValueError(f"hook rules file {path}: 'faults' must be an object")
        HookFaults().update(faults)
    try:
        return parse_rules(data), faults
    except ValueError as exc:
        raise ValueError(f"hook rules file {path}: {exc}") from None


# --------------------------------------------------------------------------------------------
# Faults


@dataclass
class HookFaults:
    delay_ms: float = 0.0
    unavailable: bool = False
    error_status: int = 503
    drop_connections: bool = False

    def update(self, data: Mapping[str, Any]) -> None:
        """Apply some keys; unknown keys or bad values raise ValueError and change nothing."""
        check_keys(data, FAULT_KEYS, "hook fault")
        changes: dict[str, Any] = {}
        if "delay_ms" in data:
            changes["delay_ms"] = as_number(data["delay_ms"], "delay_ms", 0, 600_000)
        for key in ("unavailable", "drop_connections"):
            if key in data:
                changes[key] = as_bool(data[key], key)
        if "error_status" in data:
            changes["error_status"] = as_choice(data["error_status"], "error_status", FAULT_STATUSES)
        for key, value in changes.items():
            setattr(self, key, value)

    def clear(self) -> None:
        self.delay_ms, self.unavailable, self.error_status, self.drop_connections = 0.0, False, 503, False

    def as_dict(self) -> dict[str, Any]:
        return {
            "delay_ms": self.delay_ms,
            "unavailable": self.unavailable,
            "error_status": self.error_status,
            "drop_connections": self.drop_connections,
        }


@dataclass
class HookState:
    """The sink's hooks: the rule set, the hook faults, the evaluations seen."""

    rules: list[Rule] = field(default_factory=list)
    faults: HookFaults = field(default_factory=HookFaults)
    evaluations: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEPT_EVALUATIONS))
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


HOOKS = web.AppKey("hooks", HookState)


# --------------------------------------------------------------------------------------------
# The wire format, parsed strictly


def _obj(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HookRequestError(f"{where} must be an object")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise HookRequestError(f"{where}: unknown field {unknown[0]!r}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise HookRequestError(f"{where} must be a string")
    return value


def _b64(value: Any, where: str) -> None:
    try:
        base64.b64decode(_str(value, where), validate=True)
    except binascii.Error:
        raise HookRequestError(f"{where} must be base64") from None


def _check_part(part: Any, where: str) -> None:
    data = _obj(part, where, ("text", "thinking", "tool_call", "tool_result"))
    if len(data) != 1:
        raise HookRequestError(f"{where} must have exactly one of text, thinking, tool_call, tool_result")
    kind, value = next(iter(data.items()))
    if kind in ("text", "thinking"):
        _str(value, f"{where}.{kind}")
    elif kind == "tool_call":
        call = _obj(value, f"{where}.tool_call", ("id", "name", "input_json"))
        for key in ("id", "name"):
            _str(call.get(key, ""), f"{where}.tool_call.{key}")
        if "input_json" in call:
            _b64(call["input_json"], f"{where}.tool_call.input_json")
    else:
        result = _obj(value, f"{where}.tool_result", ("tool_call_id", "name", "content", "content_json", "is_error"))
        for key in ("tool_call_id", "name", "content"):
            _str(result.get(key, ""), f"{where}.tool_result.{key}")
        if not isinstance(result.get("is_error", False), bool):
            raise HookRequestError(f"{where}.tool_result.is_error must be true or false")
        if "content_json" in result:
            _b64(result["content_json"], f"{where}.tool_result.content_json")


def _check_messages(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise HookRequestError(f"{where} must be a list")
    for index, message in enumerate(value):
        at = f"{where}[{index}]"
        data = _obj(message, at, ("role", "parts", "name"))
        if data.get("role") not in ("user", "assistant", "tool"):
            raise HookRequestError(f"{at}.role must be user, assistant or tool")
        parts = data.get("parts")
        if not isinstance(parts, list):
            raise HookRequestError(f"{at}.parts must be a list")
        for p_index, part in enumerate(parts):
            _check_part(part, f"{at}.parts[{p_index}]")
        _str(data.get("name", ""), f"{at}.name")


def check_request(body: Any) -> dict[str, Any]:
    """The request if it is in the wire format, else HookRequestError naming the first problem."""
    data = _obj(body, "the request", ("phase", "context", "input"))
    if data.get("phase") not in PHASES:
        raise HookRequestError(f"phase must be one of {', '.join(PHASES)}")
    context = _obj(data.get("context", {}), "context", ("model", "agent_name", "agent_version", "tags"))
    if "model" in context:
        model = _obj(context["model"], "context.model", ("provider", "name"))
        for key in ("provider", "name"):
            _str(model.get(key, ""), f"context.model.{key}")
    for key in ("agent_name", "agent_version"):
        _str(context.get(key, ""), f"context.{key}")
    tags = context.get("tags", {})
    if not isinstance(tags, dict) or any(not isinstance(v, str) for v in tags.values()):
        raise HookRequestError("context.tags must be an object of strings")
    payload = _obj(
        data.get("input", {}), "input", ("messages", "tools", "system_prompt", "output", "conversation_preview")
    )
    for key in ("messages", "output"):
        if key in payload:
            _check_messages(payload[key], f"input.{key}")
    for key in ("system_prompt", "conversation_preview"):
        _str(payload.get(key, ""), f"input.{key}")
    tools = payload.get("tools", [])
    if not isinstance(tools, list):
        raise HookRequestError("input.tools must be a list")
    for index, tool in enumerate(tools):
        at = f"input.tools[{index}]"
        tool_data = _obj(tool, at, ("name", "description", "type", "input_schema_json", "deferred"))
        if not _str(tool_data.get("name", ""), f"{at}.name"):
            raise HookRequestError(f"{at}.name is required")
        for key in ("description", "type"):
            _str(tool_data.get(key, ""), f"{at}.{key}")
        if "input_schema_json" in tool_data:
            _b64(tool_data["input_schema_json"], f"{at}.input_schema_json")
        if not isinstance(tool_data.get("deferred", False), bool):
            raise HookRequestError(f"{at}.deferred must be true or false")
    return data


# --------------------------------------------------------------------------------------------
# Evaluation


def _map_texts(payload: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """``payload`` (an input) with every text passed through ``change``: message texts, thinking,
    tool result contents, the system prompt and the conversation preview."""

    def part(p: dict[str, Any]) -> dict[str, Any]:
        if "text" in p:
            return {"text": change(p["text"])}
        if "thinking" in p:
            return {"thinking": change(p["thinking"])}
        if "tool_result" in p:
            result = dict(p["tool_result"])
            result["content"] = change(result.get("content", ""))
            return {"tool_result": result}
        return p

    out = dict(payload)
    for key in ("messages", "output"):
        if key in out:
            out[key] = [dict(m, parts=[part(p) for p in m.get("parts", [])]) for m in out[key]]
    for key in ("system_prompt", "conversation_preview"):
        if key in out:
            out[key] = change(out[key])
    return out


def _texts(payload: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def collect(text: str) -> str:
        found.append(text)
        return text

    _map_texts(payload, collect)
    return found


def _redactor(rule: Rule) -> Callable[[str], str]:
    def redact(text: str) -> str:
        return rule.pattern.sub(rule.replacement, text)

    return redact


def evaluate(rules: list[Rule], request: dict[str, Any]) -> dict[str, Any]:
    """The answer to a (checked) request under ``rules``."""
    phase = request["phase"]
    context = request.get("context", {})
    current = dict(request.get("input", {}))
    evaluations: list[dict[str, Any]] = []
    transformed = False
    for rule in rules:
        if not rule.applies(phase, context):
            continue
        started = time.perf_counter()
        matched = any(rule.pattern.search(text) for text in _texts(current))
        result: dict[str, Any] = {
            "rule_id": rule.id,
            "evaluator_id": f"regex:{rule.id}",
            "evaluator_kind": "regex",
            "passed": not matched or rule.action == "redact",
        }
        if matched and rule.action == "redact":
            current = _map_texts(current, _redactor(rule))
            transformed = True
            result["explanation"] = f"redacted matches of {rule.pattern.pattern!r}"
        elif matched:
            result["reason"] = rule.reason
            result["explanation"] = f"matched {rule.pattern.pattern!r}"
        result["latency_ms"] = int((time.perf_counter() - started) * 1000)
        evaluations.append(result)
        if matched and rule.action == "deny":
            return {"action": "deny", "rule_id": rule.id, "reason": rule.reason, "evaluations": evaluations}
    answer: dict[str, Any] = {"action": "allow", "evaluations": evaluations}
    if transformed:
        answer["transformed_input"] = {
            key: current[key]
            for key in ("messages", "output", "system_prompt", "conversation_preview")
            if key in current
        }
    return answer


# --------------------------------------------------------------------------------------------
# HTTP


def _text_error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=(message + "\n").encode(),
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(data, separators=(",", ":")).encode(), content_type="application/json"
    )


def make_evaluate_handler(
    tenant_of: Callable[[Mapping[str, str]], str],
) -> Callable[[web.Request], Any]:
    """The ``/api/v1/hooks:evaluate`` handler; ``tenant_of`` is the sink's ingest auth (AuthError → 401)."""

    async def evaluate_hook(request: web.Request) -> web.StreamResponse:
        state = request.app[HOOKS]
        faults = state.faults
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.drop_connections:
            state.count("dropped")
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)  # never reaches the client
        if faults.unavailable:
            state.count(str(faults.error_status))
            return _text_error(faults.error_status, f"fault injected: {faults.error_status}")
        try:
            tenant = tenant_of({k.lower(): v for k, v in request.headers.items()})
        except AuthError as exc:
            state.count("401")
            return _text_error(401, str(exc))
        if request.method != "POST":
            state.count("405")
            return _text_error(405, "method not allowed")
        try:
            body = json.loads(await request.read())
            checked = check_request(body)
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and HookRequestError are ValueErrors
            state.count("400")
            return _text_error(400, f"invalid hook request: {exc}")
        answer = evaluate(state.rules, checked)
        state.count(answer["action"] if "transformed_input" not in answer else "transform")
        state.evaluations.append(
            {
                "tenant": tenant,
                "timeout_ms": request.headers.get(TIMEOUT_HEADER, ""),
                "request": checked,
                "response": answer,
                "received_at": time.time(),
            }
        )
        return _json(answer)

    return evaluate_hook


async def hook_rules(request: web.Request) -> web.Response:
    """GET the rules; POST a rule set to replace them (``{"rules": [...]}``); DELETE: no rules."""
    state = request.app[HOOKS]
    if request.method == "DELETE":
        state.rules = []
    elif request.method == "POST":
        try:
            state.rules = parse_rules(json.loads(await request.read() or b"[]"))
        except ValueError as exc:
            return _text_error(400, f"bad hook rules: {exc}")
    return _json({"rules": [rule.as_dict() for rule in state.rules]})


async def hook_faults(request: web.Request) -> web.Response:
    """GET the hook faults, POST a JSON object to change some, DELETE to clear them."""
    state = request.app[HOOKS]
    if request.method == "DELETE":
        state.faults.clear()
    elif request.method == "POST":
        try:
            data = json.loads(await request.read() or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            state.faults.update(data)
        except ValueError as exc:
            return _text_error(400, f"bad hook faults: {exc}")
    return _json(state.faults.as_dict())


async def hook_evaluations(request: web.Request) -> web.Response:
    """GET: the evaluations seen, oldest first (``{"items": [...], "counts": {...}}``); DELETE forgets them."""
    state = request.app[HOOKS]
    if request.method == "DELETE":
        state.evaluations.clear()
        state.counts.clear()
    return _json({"items": list(state.evaluations), "counts": dict(state.counts)})


def register(
    app: web.Application,
    tenant_of: Callable[[Mapping[str, str]], str],
    state: HookState | None = None,
) -> HookState:
    """Add the hooks endpoint and its control routes to ``app``; returns the state they share."""
    hooks = state if state is not None else HookState()
    app[HOOKS] = hooks
    app.router.add_route("*", EVALUATE_PATH, make_evaluate_handler(tenant_of))
    for method in ("GET", "POST", "DELETE"):
        app.router.add_route(method, "/api/v1/hook-rules", hook_rules)
        app.router.add_route(method, "/api/v1/hook-faults", hook_faults)
    app.router.add_route("GET", "/api/v1/hook-evaluations", hook_evaluations)
    app.router.add_route("DELETE", "/api/v1/hook-evaluations", hook_evaluations)
    return hooks
