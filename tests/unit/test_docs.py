"""README.md and docs/*.md name only what exists: make targets, repository paths and links.

Each check is a function of a page's text that returns its problems, tried here on every page
and, once, on a text made to fail, so a check that can no longer fail is noticed.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 200

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
# a code span may wrap onto the next line, never across a blank line
INLINE = re.compile(r"`((?:[^`\n]|\n(?!\s*\n))+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
MAKE = re.compile(r"(?:^|[\s;&|(])make\s+([A-Za-z0-9_.-]+)")

REPO_SUFFIXES = (".py", ".yaml", ".smk", ".md")
# Paths a page may name that are not in the repository: results of a run, what `make install`
# creates, Snakemake's own folder, and the user's data, init files and output folder.
NOT_IN_REPO = (
    "results/",
    "demo_work/",
    ".venv/",
    ".snakemake/",
    "pretrain/",
    "DFDC-Kaggle/",
    "predict_out/",
)
# never part of the repository's files (searched for a bare file name)
SKIP_DIRS = {".git", ".venv", ".snakemake", ".ruff_cache", "__pycache__", "results", "demo_work"}


def without_fences(text: str) -> str:
    return FENCE.sub("", text)


def code_spans(text: str) -> list[tuple[str, bool]]:
    """Every code span, with whether it is a whole fenced block."""
    blocks = [(m.group(1), True) for m in FENCE.finditer(text)]
    return blocks + [(m.group(1), False) for m in INLINE.finditer(without_fences(text))]


# --- make targets -------------------------------------------------------------------------


def makefile_targets(makefile: str) -> tuple[set[str], set[str]]:
    """(names with a rule, names declared .PHONY)."""
    rules = set(re.findall(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*:(?!=)", makefile, re.M))
    phony: set[str] = set()
    for line in re.findall(r"^\.PHONY\s*:(.*)$", makefile, re.M):
        phony.update(line.split())
    return rules, phony


def make_targets_named(text: str) -> list[str]:
    return [t for span, _ in code_spans(text) for t in MAKE.findall(span)]


def make_problems(text: str, rules: set[str], phony: set[str]) -> list[str]:
    problems = []
    for target in make_targets_named(text):
        if target not in rules:
            problems.append(f"`make {target}`: no rule `{target}:` in the Makefile")
        elif target not in phony:
            problems.append(f"`make {target}`: not declared .PHONY in the Makefile")
    return problems


# --- repository paths ---------------------------------------------------------------------


@functools.cache
def repository_names() -> frozenset[str]:
    """The name of every file and folder of the repository (outside run and tool folders)."""
    names: set[str] = set()
    for _root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        names.update(dirs)
        names.update(files)
    return frozenset(names)


def _is_placeholder_or_elsewhere(token: str) -> bool:
    return (
        not token
        or any(c in token for c in "<>=")
        or "://" in token
        or token.startswith(("-", "/", "~", "$"))
        or token.startswith(NOT_IN_REPO)
    )


def path_tokens(span: str, whole_block: bool) -> list[str]:
    """The repository paths a code span names.

    A span that is one token is a path when it ends in a repository file suffix, or holds a
    ``/`` and starts with one of the repository's top-level entries (a dataset's own folders,
    ``original_sequences/...``, are the user's). In a command (several tokens, or a fenced
    block) only tokens that end in such a suffix or start with one of the repository's
    top-level folders count: the rest are arguments, options and the user's own files.
    """
    tokens = [t.strip("\"'(),;:") for t in span.split()]
    top = {p.name for p in REPO.iterdir() if p.is_dir() and p.name not in SKIP_DIRS}
    if len(tokens) == 1 and not whole_block:
        token = tokens[0]
        entries = top | {p.name for p in REPO.iterdir()}
        looks = token.endswith(REPO_SUFFIXES) or ("/" in token and token.split("/")[0] in entries)
        return [token] if looks and not _is_placeholder_or_elsewhere(token) else []
    found = []
    for token in tokens:
        if _is_placeholder_or_elsewhere(token):
            continue
        if token.endswith(REPO_SUFFIXES) or ("/" in token and token.split("/")[0] in top):
            found.append(token)
    return found


def path_exists(token: str) -> bool:
    if any(c in token for c in "*?["):
        return any(REPO.glob(token))
    if "/" not in token.rstrip("/"):
        # a bare name (`common.smk`, `config.yaml`): at the root or anywhere in the repository
        return (REPO / token).exists() or token.rstrip("/") in repository_names()
    return (REPO / token).exists()


def paths_named(text: str) -> list[str]:
    return [t for span, block in code_spans(text) for t in path_tokens(span, block)]


def path_problems(text: str) -> list[str]:
    return [f"`{t}`: not in the repository" for t in paths_named(text) if not path_exists(t)]


# --- links --------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page_text: str) -> set[str]:
    return {slug(h) for h in HEADING.findall(without_fences(page_text))}


def links(text: str) -> list[str]:
    prose = INLINE.sub("", without_fences(text))
    return LINK.findall(prose)


def link_problems(text: str, page: Path) -> list[str]:
    problems = []
    for target in links(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            problems.append(f"[..]({target}): {path} does not exist")
        elif fragment and resolved.suffix == ".md":
            if fragment not in anchors(resolved.read_text(encoding="utf-8")):
                problems.append(f"[..]({target}): no heading #{fragment} in {path or page.name}")
    return problems


def length_problems(text: str, limit: int = README_MAX_LINES) -> list[str]:
    n = len(text.splitlines())
    return [f"{n} lines, more than {limit}"] if n > limit else []


# --- the pages ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def targets() -> tuple[set[str], set[str]]:
    return makefile_targets((REPO / "Makefile").read_text(encoding="utf-8"))


def _id(page: Path) -> str:
    return str(page.relative_to(REPO))


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_make_targets_exist(page: Path, targets: tuple[set[str], set[str]]) -> None:
    assert make_problems(page.read_text(encoding="utf-8"), *targets) == []


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_repository_paths_exist(page: Path) -> None:
    assert path_problems(page.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_relative_links_resolve(page: Path) -> None:
    assert link_problems(page.read_text(encoding="utf-8"), page) == []


def test_readme_is_short() -> None:
    assert length_problems((REPO / "README.md").read_text(encoding="utf-8")) == []


def test_the_checks_see_the_pages() -> None:
    """Each check finds what it checks in the pages (a pattern that matched nothing would pass)."""
    texts = [p.read_text(encoding="utf-8") for p in PAGES]
    named = {t for s in texts for t in make_targets_named(s)}
    assert {"demo", "test", "lint", "clean-demo"} <= named
    assert sum(len(paths_named(s)) for s in texts) > 50
    assert sum(len(links(s)) for s in texts) > 50
    assert "profiles/slurm/config.yaml" in paths_named(texts[0])


# --- each check fails where it should -----------------------------------------------------


def test_make_check_fails_on_an_unknown_or_file_target() -> None:
    rules, phony = makefile_targets(".PHONY: demo\ndemo: install\n\tx\nfile.txt:\n\tx\nA := 1\n")
    assert rules == {"demo", "file.txt"} and phony == {"demo"}
    assert make_problems("`make demo` and `make demo-all`", rules, phony) == [
        "`make demo-all`: no rule `demo-all:` in the Makefile"
    ]
    assert make_problems("```bash\nmake file.txt\n```\n", rules, phony) == [
        "`make file.txt`: not declared .PHONY in the Makefile"
    ]
    assert make_problems("make sure `demo` runs", rules, phony) == []  # prose is not a command


def test_path_check_fails_on_a_missing_path() -> None:
    text = (
        "`rf_models/scratch.py`, `rf_model/scratch.py`, `rules/*.smk`, `rules/*.smx`, "
        "`common.smk`, `nowhere.yaml`, `results/models/b0/best.pt`, `results/<part>`, "
        "`pretrain/*.pth`, `python benchmarks/dry_run_fulll.py --x 1`, `my_clip.MOV other/`, "
        "`original_sequences/youtube/c23/videos/` (a dataset's folder), `docs/nothere/`\n"
        "```bash\nsnakemake --profile profiles/slurmm --config predict_dir=/x/y\n```\n"
    )
    assert path_problems(text) == [
        "`profiles/slurmm`: not in the repository",
        "`rf_model/scratch.py`: not in the repository",
        "`rules/*.smx`: not in the repository",
        "`nowhere.yaml`: not in the repository",
        "`benchmarks/dry_run_fulll.py`: not in the repository",
        "`docs/nothere/`: not in the repository",
    ]


def test_link_check_fails_on_a_broken_link_or_anchor() -> None:
    page = REPO / "docs" / "cluster.md"
    text = (
        "[ok](../config.yaml) [gone](../confg.yaml) [web](https://example.org/x) "
        "[anchor](demo.md#cores-and-time) [bad anchor](demo.md#cores-and-tim) "
        "[here](#scratch-disk-framesmax_parts) `[not a link](nowhere.md)`"
    )
    assert link_problems(text, page) == [
        "[..](../confg.yaml): ../confg.yaml does not exist",
        "[..](demo.md#cores-and-tim): no heading #cores-and-tim in demo.md",
    ]


def test_length_check_fails_past_the_limit() -> None:
    assert length_problems("x\n" * README_MAX_LINES) == []
    assert length_problems("x\n" * (README_MAX_LINES + 1)) == ["201 lines, more than 200"]
