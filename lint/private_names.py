"""An import-linter contract type: no module imports another module's private (``_``-prefixed) name.

``from pkg.mod import _helper`` couples the importer to what ``pkg.mod`` declared its own business; the
name should be made public (and named for what it is) or the code moved. import-linter's graph records
which modules import which, not the names taken, so this reads each module's source with ``ast``.
Registered in pyproject's ``[tool.importlinter] contract_types``; ``lint-imports`` puts the project root
on ``sys.path``, which is how it finds this module.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = importer.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def private_imports(module: str, source: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, "from X import _y")`` for each private name of another module ``module``'s source imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(module, is_package, node)
            for alias in node.names:
                if _private(alias.name):
                    found.append((node.lineno, f"from {origin} import {alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if any(_private(part) for part in parts):
                    found.append((node.lineno, f"import {alias.name}"))
    return found


class NoPrivateImportsContract(Contract):
    """Configuration: ``source_modules``, the packages whose modules are checked (descendants included)."""

    type_name = "no_private_imports"

    source_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        roots: list[str] = list(self.source_modules)  # type: ignore[call-overload]
        violations = []
        for module in sorted(graph.modules):
            if not any(module == root or module.startswith(root + ".") for root in roots):
                continue
            spec = importlib.util.find_spec(module)
            if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
                continue
            path = Path(spec.origin)
            is_package = path.name == "__init__.py"
            for line, statement in private_imports(module, path.read_text(), is_package):
                violations.append(f"{module}:{line}: {statement}")
        return ContractCheck(kept=not violations, warnings=None, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(f"{violation} (a private name of another module)")
            output.new_line()
