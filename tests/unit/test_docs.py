"""The README and docs link only to files inside the repository, and every one of them exists."""

import re

import pytest

from dae_core.settings import PROJECT_ROOT

DOCS = ["README.md", *(p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCS)
def test_every_link_resolves_inside_the_repository(doc):
    path = PROJECT_ROOT / doc
    links = re.findall(r"\]\(([^)#\s]+)", path.read_text())
    assert links or doc != "README.md"
    for link in links:
        assert not re.match(r"[a-z]+://", link), f"{doc} links outside the repository: {link}"
        target = (path.parent / link).resolve()
        assert target.is_relative_to(PROJECT_ROOT) and target.exists(), f"{doc}: {link} does not resolve"
