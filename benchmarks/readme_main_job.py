"""Regenerate the printed output of the default main job in docs/main_job.md (and its loss curve picture).

    python benchmarks/readme_main_job.py        # about 3 minutes on 2 cores

Runs ``python examples/train.py --output-dir out/train`` as a newcomer would, keeps what it printed
without the Trainer's progress bars and per-step log dicts, and writes it into the ``text`` block after
"The default run printed" in ``docs/main_job.md`` (the README's first setup command runs this job);
copies ``out/train/curves.png`` to ``docs/main_job_curves.png``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = "docs/main_job.md"
MARKER = "The default run printed"


def printed_lines(stdout: str) -> list[str]:
    """What a reader should see: no progress bars, no log dicts, no blank lines.

    Example:
        >>> printed_lines("a\\n 10%|#  | 1/9 [00:01<00:08]\\n{'loss': '6.9'}\\n\\nb\\n")
        ['a', 'b']
    """
    lines = []
    for line in stdout.replace("\r", "\n").splitlines():
        if not line.strip() or line.startswith("{") or re.search(r"\d+%\|", line):
            continue
        lines.append(line.rstrip())
    return lines


def replace_block(page: str, lines: list[str]) -> str:
    """The page with the first ``text`` block after :data:`MARKER` replaced by ``lines``."""
    start = page.index("```text\n", page.index(MARKER)) + len("```text\n")
    end = page.index("```", start)
    return page[:start] + "\n".join(lines) + "\n" + page[end:]


def main() -> list[str]:
    result = subprocess.run(
        [sys.executable, "examples/train.py", "--output-dir", "out/train"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = printed_lines(result.stdout)
    page = ROOT / PAGE
    page.write_text(replace_block(page.read_text(), lines))
    curves = ROOT / "out" / "train" / "curves.png"
    if curves.exists():
        shutil.copy(curves, ROOT / "docs" / "main_job_curves.png")
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main()
