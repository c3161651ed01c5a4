"""The README's and every docs page's code runs and prints what the page says; the README's commands
match CI and the examples; the files and links the pages name exist; the main job's commands use its flags."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
# Repository paths named in code spans and commands (hf_seqmask's own modules are named by their API).
NAMED_PATH = re.compile(r"(?<![\w/.-])((?:tests|benchmarks|examples|docs|results|\.ci)/[\w.*/-]*)")
MAIN_JOB = re.compile(r"python examples/train\.py ([^`\n]*)|python benchmarks/movielens\.py [^`\n]*? -- ([^`\n]*)")


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(page.read_text())]


def _code(page: Path) -> list[str]:
    """The page's inline code spans and the bodies of its command blocks."""
    text = page.read_text()
    commands = [code for language, code in _blocks(page) if language in ("bash", "sh")]
    return re.findall(r"`([^`]+)`", BLOCK.sub("", text)) + commands


PYTHON_PAGES = [page for page in PAGES if any(language == "python" for language, _ in _blocks(page))]


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_name)
def test_python_blocks_print_what_the_page_shows(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks write under out/: a fresh folder for each page
    blocks = _blocks(page)
    namespace: dict = {}  # the blocks of one page run in order, sharing their names
    checked = 0
    for index, (language, code) in enumerate(blocks):
        if language != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{_name(page)} block {index}", "exec"), namespace)
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        assert following and following[0] == "text", f"{_name(page)} block {index}: its output is not shown after it"
        assert out.getvalue() == following[1], f"{_name(page)} block {index} printed:\n{out.getvalue()}"
        checked += 1
    assert checked >= 1


def test_the_pages_keep_the_code_the_readme_held_and_the_quickstart_is_on_the_first_screen():
    python_blocks = sum(language == "python" for page in PAGES for language, _ in _blocks(page))
    assert python_blocks >= 11  # the README's executed blocks before they moved to docs/
    lines = README.read_text().splitlines()
    assert len(lines) <= 250
    assert "```python" in lines[:60], "the README's quickstart must start on its first screen"


def test_every_metric_the_readme_quotes_is_in_a_docs_page():
    docs = "".join(page.read_text() for page in PAGES[1:])
    quoted = set(re.findall(r"\b0\.\d{4}\b", README.read_text()))
    missing = sorted(value for value in quoted if value not in docs)
    assert quoted and not missing, f"the README quotes numbers no docs page holds: {missing}"


def test_exactly_two_setup_commands_and_ci_runs_the_test_command():
    commands = [code.strip() for language, code in _blocks(README) if language == "bash"]
    assert len(commands) == 2
    run_example, run_tests = commands
    assert run_example.startswith("pip install torch==2.13.0 && ")
    script = run_example.rsplit("python ", 1)[1]
    assert (ROOT / script).is_file()
    assert run_tests in (ROOT / ".ci" / "run").read_text()


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_links_and_named_files_exist(page):
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            missing.append(target)
        elif anchor and linked.suffix == ".md":
            headings = re.findall(r"(?m)^#+ (.*)$", BLOCK.sub("", linked.read_text()))
            if anchor not in {_slug(heading) for heading in headings}:
                missing.append(target)
    for code in _code(page):
        for named in NAMED_PATH.findall(code):
            if not (list(ROOT.glob(named.rstrip("/"))) if "*" in named else (ROOT / named).exists()):
                missing.append(named)
    assert not missing, f"{_name(page)} names what is not in the repository: {missing}"


def test_main_job_commands_in_the_pages_use_its_flags():
    commands = [flags for page in PAGES for code in _code(page) for flags in MAIN_JOB.findall(code)]
    assert len(commands) > 10  # the README's, the main job page's and every ML-1M run's
    help_text = subprocess.run(
        [sys.executable, "examples/train.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    unknown = {flag for pair in commands for flag in re.findall(r"(?<!\S)(--[\w-]+)", " ".join(pair))}
    unknown = {flag for flag in unknown if not re.search(rf"{re.escape(flag)}\b(?!-)", help_text)}
    assert not unknown, f"flags the main job does not have: {sorted(unknown)}"
