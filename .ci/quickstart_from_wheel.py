"""CI, after the wheel is installed into a fresh environment: the installed hf_seqmask is complete
(typed, licensed, its metadata version is ``__version__``), and the README's quickstart, run from an
empty folder outside the source tree, prints what the README shows.

Run: python .ci/quickstart_from_wheel.py README.md
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHECK_INSTALL = """
import importlib.metadata as metadata, pathlib, hf_seqmask
package = pathlib.Path(hf_seqmask.__file__).parent
assert "site-packages" in package.parts, f"hf_seqmask imported from {package}, not from the installed wheel"
assert (package / "py.typed").is_file(), "the wheel has no py.typed"
version = metadata.version("hf_seqmask")
assert version == hf_seqmask.__version__, f"metadata version {version}, __version__ {hf_seqmask.__version__}"
files = [str(f) for f in metadata.files("hf_seqmask")]
assert any(f.endswith("licenses/LICENSE") for f in files), "the wheel has no LICENSE"
print("installed:", package, hf_seqmask.__version__)
"""


def main(readme: str) -> None:
    blocks = re.findall(r"```(\w+)\n(.*?)```", Path(readme).read_text(), re.S)
    first = next(i for i, (language, _) in enumerate(blocks) if language == "python")
    code, (language, shown) = blocks[first][1], blocks[first + 1]
    assert language == "text", "the README's quickstart must be followed by its output"
    with tempfile.TemporaryDirectory() as folder:  # nothing of the source tree on the path
        subprocess.run([sys.executable, "-c", CHECK_INSTALL], cwd=folder, check=True)
        printed = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, check=True)
    if printed.stdout != shown:
        raise SystemExit(f"the quickstart printed:\n{printed.stdout}\nthe README shows:\n{shown}")
    print("the README's quickstart ran from the installed wheel and printed what the README shows")


if __name__ == "__main__":
    main(sys.argv[1])
