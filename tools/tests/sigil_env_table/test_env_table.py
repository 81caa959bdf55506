"""The README's configuration table is the Settings class, rendered: they must not drift apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sigil_env_table import README_END, README_START, env_table_markdown, readme_table, update_readme

from sigil_sdk_litellm.proxy.settings import Settings

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_env_table_matches_settings() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(README_START) == 1 and text.count(README_END) == 1
    assert readme_table(text) == env_table_markdown(), (
        "README.md's env table differs from Settings: run `.venv/bin/python -m sigil_env_table --update README.md`"
    )


def test_update_touches_only_the_marked_section() -> None:
    text = "# Title\n\nbefore\n" + README_START + "\nstale\n" + README_END + "\nafter\n"
    updated = update_readme(text)
    assert updated.startswith("# Title\n\nbefore\n" + README_START + "\n")
    assert updated.endswith(README_END + "\nafter\n")
    assert readme_table(updated) == env_table_markdown()
    assert update_readme(updated) == updated


def test_env_table_lists_every_variable() -> None:
    table = env_table_markdown()
    for variable in Settings.variables():
        assert f"| `{variable}` |" in table
    assert "| `SIGIL_PROTOCOL` | `grpc` |" in table
    assert "| `SIGIL_AUTH_TOKEN` | — |" in table
    assert "| `SIGIL_FLUSH_INTERVAL` | `1` |" in table


def test_the_command_prints_and_updates_the_table(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "sigil_env_table"], capture_output=True, text=True, check=True, timeout=60
    )
    assert printed.stdout == env_table_markdown()
    readme = tmp_path / "README.md"
    readme.write_text("# T\n" + README_START + "\nstale\n" + README_END + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "sigil_env_table", "--update", str(readme)], check=True, timeout=60)
    assert readme_table(readme.read_text(encoding="utf-8")) == env_table_markdown()
    wrong = subprocess.run([sys.executable, "-m", "sigil_env_table", "--bogus"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "usage: python -m sigil_env_table" in wrong.stderr
