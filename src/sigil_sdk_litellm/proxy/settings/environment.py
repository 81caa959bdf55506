"""The one reader of the environment: variables, ``<VARIABLE>_FILE``, ``SIGIL_SECRETS_DIR`` and aliases.

:func:`read_environment` returns the raw text of every variable that has a value, keyed by variable
name, for :class:`~sigil_sdk_litellm.proxy.settings.model.Settings` to validate. A value comes from the
environment, else from a file named by ``<VARIABLE>_FILE``, else from a file named like the variable
in ``SIGIL_SECRETS_DIR`` (a mounted Kubernetes Secret). Values are trimmed; an empty value counts as
unset, as in the SDK. Every variable may also be named ``AGENTO11Y_*`` (the successor SDK's names);
when both names are set the ``SIGIL_*`` one wins and the pair is noted in ``shadowed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sigil_sdk_litellm.proxy.settings.errors import SettingProblem

__all__ = [
    "ALIAS_PREFIX",
    "DEFAULT_SECRETS_DIR",
    "FILE_SUFFIX",
    "PREFIX",
    "SECRETS_DIR_VARIABLE",
    "Reading",
    "alias_of",
    "read_environment",
    "unknown_names",
]

DEFAULT_SECRETS_DIR = Path("/run/secrets/sigil")
SECRETS_DIR_VARIABLE = "SIGIL_SECRETS_DIR"
FILE_SUFFIX = "_FILE"
PREFIX = "SIGIL_"
# The successor SDK's names (agento11y): read as aliases during the migration window.
ALIAS_PREFIX = "AGENTO11Y_"

_ENABLED = "SIGIL_ENABLED"
_FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})  # what pydantic reads as False
_MAX_FILE_BYTES = 64 * 1024


@dataclass
class Reading:
    """What :func:`read_environment` found."""

    values: dict[str, str] = field(default_factory=dict)  # variable → its text
    origins: dict[str, str] = field(default_factory=dict)  # variable → the file (or alias) its value came from
    shadowed: list[str] = field(default_factory=list)  # variables whose AGENTO11Y_* alias was set too, unused
    problems: list[SettingProblem] = field(default_factory=list)


def alias_of(variable: str) -> str:
    """The successor SDK's name of a ``SIGIL_*`` variable: ``AGENTO11Y_*`` with the same suffix."""
    return ALIAS_PREFIX + variable.removeprefix(PREFIX)


def read_environment(environ: Mapping[str, str], variables: Iterable[str]) -> Reading:
    """The values of ``variables`` in ``environ`` and the files it names (``SIGIL_ENABLED=false``: that one only)."""
    reading = Reading()
    problems, origins, values = reading.problems, reading.origins, reading.values

    def get(name: str) -> str | None:
        raw = environ.get(name)
        value = raw.strip() if isinstance(raw, str) else None
        return value or None

    def name_in_use(variable: str) -> str:
        """``variable``, or its AGENTO11Y_* alias when only the alias (or the alias's _FILE) is set.

        The SIGIL_* name wins when both are set (noted in ``shadowed``, warned about at start)."""
        if not variable.startswith(PREFIX):  # OTEL_*: the OpenTelemetry names have no alias
            return variable
        alias = alias_of(variable)
        own = get(variable) is not None or get(variable + FILE_SUFFIX) is not None
        other = get(alias) is not None or get(alias + FILE_SUFFIX) is not None
        if own and other:
            reading.shadowed.append(variable)
        return alias if other and not own else variable

    secrets_dir: Path | None = None
    dir_name = name_in_use(SECRETS_DIR_VARIABLE)
    named_dir = get(dir_name)
    if named_dir is not None:
        values[SECRETS_DIR_VARIABLE] = named_dir
        if dir_name != SECRETS_DIR_VARIABLE:
            origins[SECRETS_DIR_VARIABLE] = dir_name
        found, error = _probe(Path(named_dir).is_dir)
        if found:
            secrets_dir = Path(named_dir)
        else:
            accepted = "accepted: an existing directory" + (f" ({error})" if error else "")
            problems.append(SettingProblem.invalid(dir_name, named_dir, accepted))
    else:
        found, error = _probe(DEFAULT_SECRETS_DIR.is_dir)
        if found:
            secrets_dir = DEFAULT_SECRETS_DIR
        elif error:  # it is there (a mount?) but cannot be looked into
            problems.append(
                SettingProblem.invalid(
                    SECRETS_DIR_VARIABLE, str(DEFAULT_SECRETS_DIR), f"the default cannot be read ({error})"
                )
            )

    def resolve(variable: str) -> str | None:
        name = name_in_use(variable)
        direct = get(name)
        file_variable = name + FILE_SUFFIX
        path = get(file_variable)
        if direct is not None and path is not None:
            problems.append(
                SettingProblem.invalid(file_variable, path, f"accepted: {name} or {file_variable}, not both")
            )
            return None
        if direct is not None:
            if name != variable:
                origins[variable] = name
            return direct
        if path is not None:
            text, problem = _read_file(Path(path))
            if problem:
                problems.append(SettingProblem.invalid(file_variable, path, f"accepted: a readable file ({problem})"))
                return None
            if text is not None:
                origins[variable] = path
            return text
        if secrets_dir is not None:
            candidate = secrets_dir / variable
            if not candidate.exists() and variable.startswith(PREFIX) and (secrets_dir / alias_of(variable)).exists():
                candidate = secrets_dir / alias_of(variable)
            found, problem = _probe(candidate.is_file)
            text = None
            if found:
                text, problem = _read_file(candidate)
            if problem:
                reason = f"cannot read {variable} in it ({problem})"
                problems.append(SettingProblem.invalid(SECRETS_DIR_VARIABLE, str(secrets_dir), reason))
                return None
            if text is not None:
                origins[variable] = str(candidate)
            return text
        return None

    enabled = resolve(_ENABLED)
    if enabled is not None:
        values[_ENABLED] = enabled
        if enabled.lower() in _FALSE_WORDS:
            # Disabled: nothing else is read, so a half-provisioned setup (no token yet) still starts.
            reading.values = {_ENABLED: enabled}
            reading.problems = [p for p in problems if p.variable.startswith((_ENABLED, alias_of(_ENABLED)))]
            return reading
    for variable in variables:
        if variable in (_ENABLED, SECRETS_DIR_VARIABLE):
            continue
        value = resolve(variable)
        if value is not None:
            values[variable] = value
    return reading


def unknown_names(environ: Mapping[str, str], variables: Iterable[str]) -> list[str]:
    """``SIGIL_*`` and ``AGENTO11Y_*`` names in ``environ`` that are none of ``variables`` (nor their
    ``_FILE`` or alias): typos, or SDK variables the proxy does not use."""
    known = set(variables)
    known |= {name + FILE_SUFFIX for name in known if name != SECRETS_DIR_VARIABLE}
    known |= {alias_of(name) for name in known}
    return sorted(name for name in environ if name.startswith((PREFIX, ALIAS_PREFIX)) and name not in known)


def _probe(check: Callable[[], bool]) -> tuple[bool, str]:
    """``path.is_dir``/``is_file`` without raising: (answer, the reason it could not be answered)."""
    try:
        return check(), ""
    except OSError as exc:  # e.g. EACCES: is_dir/is_file only swallow "does not exist"
        return False, exc.strerror or type(exc).__name__


def _read_file(path: Path) -> tuple[str | None, str]:
    """The trimmed text of ``path`` (None when empty), or the reason it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, exc.strerror or type(exc).__name__
    if len(data) > _MAX_FILE_BYTES:
        return None, f"larger than {_MAX_FILE_BYTES // 1024} KiB"
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    return (text or None), ""
