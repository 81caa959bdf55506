"""How a setting is declared: its environment variable, documentation, accepted values and marks.

Every field of :class:`~sigil_sdk_litellm.proxy.settings.model.Settings` is a :func:`setting`; the
metadata it stores (``json_schema_extra``) writes the error messages, the README table and the list
of what is handed to the recorder process.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import Field
from pydantic.fields import FieldInfo

__all__ = ["BOOL_ACCEPTED", "accepted_one_of", "field_meta", "setting"]

BOOL_ACCEPTED = "accepted: true or false (also 1/0, yes/no, on/off)"


def setting(
    env: str,
    default: Any,
    description: str,
    *,
    accepted: str,
    secret: bool = False,
    worker_only: bool = False,
    **constraints: Any,
) -> Any:
    """A field read from the environment variable ``env``; ``accepted`` is quoted in errors.

    ``secret``: the value is never shown. ``worker_only``: only the proxy worker reads it, so it is
    not handed over to the recorder process (:mod:`sigil_sdk_litellm.proxy.handoff.recorder_settings`).
    """
    extra: dict[str, Any] = {"env": env, "accepted": accepted, "secret": secret, "worker_only": worker_only}
    if isinstance(default, dict):
        return Field(
            default_factory=dict, validation_alias=env, description=description, json_schema_extra=extra, **constraints
        )
    return Field(default, validation_alias=env, description=description, json_schema_extra=extra, **constraints)


def accepted_one_of(choices: Any) -> str:
    """``accepted: a, b, c`` of a ``Literal`` type's values."""
    return "accepted: " + ", ".join(get_args(choices))


def field_meta(info: FieldInfo) -> dict[str, Any]:
    """What :func:`setting` stored for a field."""
    extra = info.json_schema_extra
    if not isinstance(extra, dict):  # pragma: no cover - every field is declared with setting()
        raise TypeError("Settings fields are declared with setting()")
    return extra
