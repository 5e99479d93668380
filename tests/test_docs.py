"""The documentation: every relative link resolves, the site builds in strict mode, the README
stays a front page, and the option tables match the code they document."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _doc_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md")),
             *sorted(ROOT.glob("adapters/*/README.md"))]
    return [f for f in files if f.is_file()]


_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE_SPAN = re.compile(r"`+[^`]*`+")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _prose_lines(text: str, *, blank_code: bool = True) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, comments (and code spans) blanked."""
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    out, fenced = [], False
    for no, line in enumerate(text.split("\n"), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((no, _CODE_SPAN.sub("``", line) if blank_code else line))
    return out


def _slug_github(title: str) -> str:
    s = title.strip().lower()
    s = "".join(ch for ch in s if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return s.replace(" ", "-")


def _slug_mkdocs(title: str) -> str:  # python-markdown's toc.slugify
    s = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    s = re.sub(r"[^\w\s-]", "", s).strip().lower()
    return re.sub(r"[-\s]+", "-", s)


def _anchors(path: Path) -> set[str]:
    """Every anchor a heading of ``path`` gets on GitHub or in the mkdocs site."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8"), blank_code=False):
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(2)).replace("`", "")
        for slug in {_slug_github(title), _slug_mkdocs(title)}:
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchors.add(slug if n == 0 else f"{slug}-{n}")
            anchors.add(slug if n == 0 else f"{slug}_{n}")
    return anchors


def _relative_links(path: Path) -> list[tuple[int, str]]:
    links = []
    for no, line in _prose_lines(path.read_text(encoding="utf-8")):
        for m in _LINK.finditer(line):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
                continue  # http:, https:, mailto:, ...
            links.append((no, target))
    return links


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    problems = []
    for no, target in _relative_links(doc):
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        where = f"{doc.relative_to(ROOT)}:{no}: {target}"
        if not dest.exists():
            problems.append(f"{where}: no such file")
            continue
        if anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            problems.append(f"{where}: no heading with anchor #{anchor} in {dest.name}")
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_link_checker_catches_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title here\n\n[ok](#title-here) [bad](#nope) [gone](missing.md)\n"
                    "```\n[not a link](inside-code.md)\n# not a heading\n```\n"
                    "## The `make demo` target\n`[in code](x.md)`\n", encoding="utf-8")
    assert _relative_links(page) == [(3, "#title-here"), (3, "#nope"), (3, "missing.md")]
    anchors = _anchors(page)
    assert {"title-here", "the-make-demo-target"} <= anchors
    assert "nope" not in anchors and "not-a-heading" not in anchors


def test_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200, "README.md is over 200 lines: move detail to docs/"
    # the block the unseen-source results go into stays findable
    assert "<!-- unseen-results:start -->" in readme and "<!-- unseen-results:end -->" in readme


def test_commands_in_readme_and_docs_exist() -> None:
    """Every ``guard-*`` command the docs tell people to run is an installed entry point."""
    scripts = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
    used: dict[str, str] = {}
    for doc in _doc_files():
        for cmd in re.findall(r"(?<![\w/-])(guard-[a-z]+)\b", doc.read_text(encoding="utf-8")):
            used.setdefault(cmd, str(doc.relative_to(ROOT)))
    not_commands = {"guard-plugins"}  # the project's name
    missing = {c: f for c, f in used.items() if c not in scripts and c not in not_commands}
    assert not missing, f"commands in the docs that pyproject.toml does not install: {missing}"


def _init_params(module: Path, cls: str) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    a = item.args
                    return {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]} - {"self"}
    raise AssertionError(f"{cls}.__init__ not found in {module}")


def _table_keys(doc: Path, heading_col: str) -> set[str]:
    """Backticked names in the first column of the table whose header starts with ``heading_col``."""
    keys: set[str] = set()
    in_table = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells and cells[0] == heading_col:
            in_table = True
            continue
        if in_table and not cells:
            break
        if in_table and not set(cells[0]) <= set("-: "):
            keys.update(re.findall(r"`([a-z_]+)`", cells[0]))
    assert keys, f"no option table with a {heading_col!r} column in {doc.name}"
    return keys


def test_option_tables_match_the_code() -> None:
    proxy = _init_params(ROOT / "src/guard_plugins/litellm/proxy.py", "ConstitutionalGuardrail")
    documented = _table_keys(DOCS / "litellm.md", "key") - {"mode"}  # `mode` is LiteLLM's own
    assert documented <= proxy, f"docs/litellm.md documents unknown options {documented - proxy}"
    lc = _init_params(ROOT / "src/guard_plugins/langchain/callback.py", "ConstitutionalGuard")
    documented = _table_keys(DOCS / "langchain.md", "option")
    assert documented <= lc, f"docs/langchain.md documents unknown options {documented - lc}"


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs / mkdocs-material not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                        str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    for page in ("index.html", "getting-started/index.html", "changelog/index.html",
                 "ARCHITECTURE/index.html", "EVALUATION/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
