"""The README's configuration table is the Settings class, rendered: they must not drift apart."""

from __future__ import annotations

from pathlib import Path

from sigil_sdk_litellm.proxy.settings import README_END, README_START, env_table_markdown, readme_table, update_readme

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_env_table_matches_settings() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(README_START) == 1 and text.count(README_END) == 1
    assert readme_table(text) == env_table_markdown(), (
        "README.md's env table differs from Settings: run "
        "`.venv/bin/python -m sigil_sdk_litellm.proxy.settings --update README.md`"
    )


def test_update_touches_only_the_marked_section() -> None:
    text = "# Title\n\nbefore\n" + README_START + "\nstale\n" + README_END + "\nafter\n"
    updated = update_readme(text)
    assert updated.startswith("# Title\n\nbefore\n" + README_START + "\n")
    assert updated.endswith(README_END + "\nafter\n")
    assert readme_table(updated) == env_table_markdown()
    assert update_readme(updated) == updated
