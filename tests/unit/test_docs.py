"""The documentation stays true: every setting documented, README short, its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

from billing.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_name(item) -> str:
    name, field = item
    alias = field.validation_alias
    if alias is not None and hasattr(alias, "choices"):
        return str(alias.choices[0])  # e.g. STRIPE_API_KEY, Stripe's own name
    return f"BILLING_{name.upper()}"


def test_every_setting_is_documented():
    page = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    missing = [name for name in map(_env_name, Settings.model_fields.items()) if name not in page]
    assert not missing, f"settings missing from docs/: {missing}"


def test_readme_fits_on_a_screen_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    targets = re.findall(r"\]\(((?:docs/)[^)#]+)", readme)
    assert targets, "the README links to the reference pages"
    broken = [t for t in targets if not (ROOT / t).is_file()]
    assert not broken, f"README links to missing files: {broken}"


def _layout_rows(readme: str) -> list[tuple[list[str], list[str]]]:
    """(paths of the first cell, paths named in the second) of each row of ``## Layout``."""
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("path", "---"):
            continue
        rows.append((re.findall(r"`([^`]+)`", cells[0]), re.findall(r"`([^`]+)`", cells[1])))
    return rows


def test_readme_layout_table_matches_the_tree():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:  # not a git checkout (an sdist): nothing to compare with
        return
    top = {p.split("/")[0] + ("/" if "/" in p else "") for p in tracked}
    top -= {".gitignore"}
    rows = _layout_rows((ROOT / "README.md").read_text())
    listed = {p for paths, _ in rows for p in paths}
    assert top == listed, (
        f"in the tree, not in the layout table: {sorted(top - listed)}; "
        f"in the table, not in the tree: {sorted(listed - top)}"
    )
    missing = []
    for paths, named in rows:
        base = paths[0] if paths[0].endswith("/") else ""
        for name in named:
            if not re.fullmatch(r"[\w./-]+", name) or "." not in name and "/" not in name:
                continue  # a command or a word, not a path
            path = name if name.startswith(base) else base + name
            if not any(
                t == path.rstrip("/") or t.startswith(path.rstrip("/") + "/") for t in tracked
            ):
                missing.append(path)
    assert not missing, f"the layout table names paths that are not in the tree: {missing}"
