"""The README's configuration table, rendered from the proxy's ``Settings``.

``python -m sigil_env_table`` prints it; ``python -m sigil_env_table --update README.md`` writes it
between the ``env-table`` markers. A test (tools/tests/sigil_env_table) checks that the README's copy
is the rendered one. Needs ``sigil-sdk-litellm`` installed beside the tools (``make install`` does).
"""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo

from sigil_sdk_litellm.proxy.settings import Settings

__all__ = ["README_END", "README_START", "env_table_markdown", "readme_table", "update_readme"]

README_START = "<!-- env-table:start -->"
README_END = "<!-- env-table:end -->"

_NOTES = [
    "",
    "Every variable but `SIGIL_SECRETS_DIR` can also come from a file: `<VARIABLE>_FILE` names it "
    "(e.g. `SIGIL_AUTH_TOKEN_FILE=/run/secrets/sigil_token`; setting both the variable and its "
    "`_FILE` is an error), or a file named like the variable lies in `SIGIL_SECRETS_DIR`. The "
    "environment wins over `_FILE`, which wins over the directory. Values are trimmed, and an empty "
    "value counts as unset.",
    "",
    "Every `SIGIL_*` variable can also be named the way the successor SDK (agento11y) names it: `AGENTO11Y_` "
    "instead of `SIGIL_` (e.g. `AGENTO11Y_ENDPOINT`, `AGENTO11Y_AUTH_TOKEN_FILE`). When both names of a "
    "setting are set, the `SIGIL_*` one is used and the proxy warns at start naming the pair.",
    "",
    "A wrong value stops the proxy at start, before it serves, with one line naming the variable, "
    "its value (never a secret's) and what is accepted:",
    "",
    "```text",
    "sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic",
    "```",
]


def _default_text(info: FieldInfo) -> str:
    default: Any = info.get_default(call_default_factory=True)
    if default is None or default == "" or default == {}:
        return "—"
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    if isinstance(default, float):
        return f"`{default:g}`"
    if isinstance(default, tuple):
        return f"`{','.join(default)}`"
    return f"`{default}`"


def env_table_markdown() -> str:
    """The README's configuration section, rendered from ``Settings``."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for variable, name in Settings.variables().items():
        info = Settings.model_fields[name]
        description = (info.description or name).replace("|", "\\|")
        rows.append(f"| `{variable}` | {_default_text(info)} | {description} |")
    return "\n".join(rows + _NOTES) + "\n"


def update_readme(text: str) -> str:
    """``text`` (a README) with the env table between the markers replaced by the current one."""
    start, end = _section(text)
    return text[: start + len(README_START)] + "\n" + env_table_markdown() + text[end:]


def readme_table(text: str) -> str:
    """The part of ``text`` between the env-table markers."""
    start, end = _section(text)
    return text[start + len(README_START) : end].strip("\n") + "\n"


def _section(text: str) -> tuple[int, int]:
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {README_START} … {README_END} section")
    return start, end
