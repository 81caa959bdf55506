"""A secret text that never shows in a repr: the part of pydantic's ``SecretStr`` this package uses
outside the settings model (tenant tokens, and the settings a recorder process is handed), so that
the recorder process need not import pydantic (see docs/memory.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Secret:
    value: str = field(repr=False)

    def get_secret_value(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"
