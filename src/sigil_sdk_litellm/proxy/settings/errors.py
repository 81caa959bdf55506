"""What is wrong with the configuration, as one line an operator reads: :class:`ConfigError`.

Validators raise :func:`invalid`; :func:`problems_from` writes pydantic's errors as :class:`SettingProblem`\\ s
from the fields' own metadata, because pydantic's texts quote the input (secrets included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from sigil_sdk_litellm.proxy.settings.fields import field_meta

__all__ = ["ConfigError", "SettingProblem", "invalid", "problems_from"]

_MAX_SHOWN = 120


@dataclass(frozen=True)
class SettingProblem:
    """One thing wrong with the configuration, as the text that names it (never a secret's value)."""

    variable: str
    text: str

    @classmethod
    def invalid(cls, variable: str, value: object, accepted: str, *, origin: str = "") -> SettingProblem:
        """``VARIABLE='value' — accepted: …``; ``value=None`` hides the value (a secret's)."""
        if value is None:
            subject = f"{variable} (value hidden{', from ' + origin if origin else ''})"
        else:
            subject = f"{variable}={_shown(value)}{' (from ' + origin + ')' if origin else ''}"
        return cls(variable, f"{subject} — {accepted}")

    @classmethod
    def missing(cls, variable: str, why: str) -> SettingProblem:
        return cls(variable, f"{variable} is not set — {why}")

    def __str__(self) -> str:
        return self.text


class ConfigError(Exception):
    """The ``SIGIL_*`` configuration is wrong. ``str()`` is one line meant for an operator."""

    def __init__(self, problems: Sequence[SettingProblem]) -> None:
        self.problems = tuple(problems)
        line = "sigil: invalid configuration: " + "; ".join(str(problem) for problem in self.problems)
        super().__init__(" ".join(line.splitlines()))

    def __str__(self) -> str:
        return str(self.args[0])


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return repr(text)


def invalid(reason: str = "", *, hide_value: bool = False) -> PydanticCustomError:
    """The error a validator raises; the message is written from it by :func:`problems_from`."""
    return PydanticCustomError("sigil_invalid", "{reason}", {"reason": reason, "hide_value": hide_value})


def problems_from(
    exc: ValidationError, model_fields: Mapping[str, FieldInfo], origins: Mapping[str, str]
) -> list[SettingProblem]:
    """pydantic's errors as problems, written from our metadata: pydantic's texts quote the input."""
    fields: dict[str, FieldInfo] = {}
    for name, info in model_fields.items():
        fields[name] = fields[field_meta(info)["env"]] = info
    problems: list[SettingProblem] = []
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        key = str(error["loc"][0]) if error["loc"] else ""
        if key not in fields:
            what = "not a setting" if error["type"] == "extra_forbidden" else f"invalid ({error['type']})"
            problems.append(SettingProblem(key, f"{key}: {what}"))
            continue
        meta = field_meta(fields[key])
        variable = meta["env"]
        if any(p.variable == variable for p in problems):
            continue  # one problem per variable (a dict value can fail once per item)
        accepted = str(meta["accepted"])
        reason = str(ctx.get("reason", "")) if error["type"] == "sigil_invalid" else ""
        if reason:
            accepted += f" ({reason})"
        hidden = bool(meta["secret"]) or bool(ctx.get("hide_value"))
        value = None if hidden else error.get("input")
        problems.append(SettingProblem.invalid(variable, value, accepted, origin=origins.get(variable, "")))
    return problems
