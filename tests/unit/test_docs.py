"""The README and docs/ promise what the project has: every param documented, every make target they name exists,
every stage in the README's table, every relative link and #anchor resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from penguins.yamlio import read_yaml
from tests.conftest import ROOT

README = ROOT / "README.md"
# docs/incoming/ holds other branches' drafts until they are folded into docs/*.md.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
TEXT = {page: page.read_text(encoding="utf-8") for page in PAGES}
ALL = "\n".join(TEXT.values())
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, inline markup dropped, punctuation but - and _ removed, spaces
    to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor, duplicates numbered as GitHub does (-1, -2 ...); headings in code blocks are none."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", markdown), flags=re.M):
        base = slug(heading)
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def test_slugs_follow_githubs_rules() -> None:
    assert slug("`make check-repro`: the CI check") == "make-check-repro-the-ci-check"
    assert slug("Dependencies: pyproject.toml and the lock") == "dependencies-pyprojecttoml-and-the-lock"
    assert slug("The pipeline: the lesson's steps") == "the-pipeline-the-lessons-steps"
    assert slug("Sharing (a DVC remote) & more") == "sharing-a-dvc-remote--more"
    assert anchors("# A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1"}


def test_every_param_is_documented() -> None:
    params = read_yaml(ROOT / "params.yaml")
    documented = set(re.findall(r"`([a-z_]+\.[a-z_0-9]+)`", ALL))
    missing = [
        f"{section}.{key}"
        for section, values in params.items()
        for key in values
        if f"{section}.{key}" not in documented
    ]
    assert not missing, f"params documented in neither README.md nor docs/*.md: {missing}"


def test_make_targets_named_in_the_docs_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    for page, text in TEXT.items():
        named = set(re.findall(r"\bmake ([a-z][a-z-]+)", text))
        assert named <= targets, (
            f"{page.relative_to(ROOT)} names make targets that do not exist: {sorted(named - targets)}"
        )
    assert {"run", "test", "report", "exp-show", "reset"} <= set(re.findall(r"\bmake ([a-z][a-z-]+)", TEXT[README]))


def test_stages_named_in_the_readme_are_the_pipeline() -> None:
    stages = read_yaml(ROOT / "dvc.yaml")["stages"]
    for stage in stages:
        assert f"| `{stage}` |" in TEXT[README], f"stage {stage} missing from README's pipeline table"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", TEXT[page])):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_readme_is_a_front_door() -> None:
    lines = TEXT[README].count("\n")
    assert lines <= 300, f"README.md has {lines} lines: move detail into docs/"
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in TEXT[README], f"README.md links to no docs/{page.name}"
