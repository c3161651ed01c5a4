"""The README's code runs and prints what the README says; its commands match CI and the examples."""

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _blocks():
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README)]


def test_python_blocks_print_what_the_readme_shows():
    blocks = _blocks()
    namespace: dict = {}
    checked = 0
    for index, (language, code) in enumerate(blocks):
        if language != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README block {index}", "exec"), namespace)
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following and following[0] == "text":
            assert out.getvalue() == following[1], f"README block {index} printed:\n{out.getvalue()}"
            checked += 1
    assert checked >= 3


def test_exactly_two_setup_commands_and_ci_runs_the_test_command():
    commands = [code.strip() for language, code in _blocks() if language == "bash"]
    assert len(commands) == 2
    run_example, run_tests = commands
    assert run_example.startswith("pip install torch==2.13.0 && ")
    script = run_example.rsplit("python ", 1)[1]
    assert (ROOT / script).is_file()
    assert run_tests in (ROOT / ".ci" / "run").read_text()
