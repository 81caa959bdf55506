"""``python -m sigil_env_table [--update README.md]``: print (or write into the README) the env table."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from sigil_env_table import env_table_markdown, update_readme

USAGE = "usage: python -m sigil_env_table [--update README.md]"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 2 and args[0] == "--update":
        path = Path(args[1])
        path.write_text(update_readme(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    if args:
        print(USAGE, file=sys.stderr)
        return 2
    sys.stdout.write(env_table_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
