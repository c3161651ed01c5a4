"""Release hygiene that needs no build: the license, the citation, the typing marker, one version
source, and every third-party module the package imports declared as a dependency. (CI builds the
sdist and wheel, checks their metadata and runs the README's quickstart from the installed wheel:
.ci/run, .ci/quickstart_from_wheel.py.)"""

import ast
import configparser
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

import yaml

import hf_seqmask

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hf_seqmask"
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg")


def _requirement_names(text: str) -> set[str]:
    return {re.split(r"[<>=!~; \[]", line.strip(), maxsplit=1)[0].lower() for line in text.splitlines() if line.strip()}


def test_license_and_citation_agree_with_the_metadata():
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert SETUP["metadata"]["license_expression"] == "Apache-2.0"
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "Apache-2.0"
    urls = dict(line.split(" = ") for line in SETUP["metadata"]["project_urls"].strip().splitlines())
    assert citation["repository-code"] == urls["Source"]
    assert "version" not in citation, "hf_seqmask.__version__ is the one version source"


def test_one_version_source_and_a_typed_package():
    assert SETUP["metadata"]["version"] == "attr: hf_seqmask.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+", hf_seqmask.__version__)
    others = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE]
    assert not [p.name for p in others if re.search(r"^__version__\s*=", p.read_text(), re.M)]
    assert (PACKAGE / "py.typed").is_file() and "py.typed" in SETUP["options.package_data"]["hf_seqmask"]


def test_changelog_keeps_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "https://keepachangelog.com/en/1.1.0/" in text and "## [Unreleased]" in text
    assert set(re.findall(r"^### (\w+)", text, re.M)) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed",
                                                           "Security", "Internal"}  # fmt: skip


def _imported_top_level_modules() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"hf_seqmask", "__future__"}


def test_every_imported_dependency_is_declared():
    declared = _requirement_names(SETUP["options"]["install_requires"])
    for extra in SETUP["options.extras_require"].values():
        declared |= _requirement_names(extra)
    distributions = metadata.packages_distributions()
    undeclared = {
        module: distributions.get(module)
        for module in _imported_top_level_modules()
        if not {name.lower() for name in distributions.get(module, [module])} & declared
    }
    assert not undeclared, f"hf_seqmask imports modules of undeclared distributions: {undeclared}"
