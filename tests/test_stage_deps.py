"""dvc.yaml's code dependencies: a stage depends on every module its script imports.

DVC reruns a stage only when a declared dependency changes. A module a stage imports but does
not declare (e.g. the cast to float32 the models' pipelines apply) could change the stage's
outputs while ``dvc repro`` calls them up to date, and dvc.lock would pair outputs with code
that did not make them. The imports are read statically (every ``import`` of the package, at
module level or inside a function), followed through the modules they reach, the packages'
``__init__`` files included. The package's data files those modules name (``resources/...``,
e.g. the column profile the schema is built from) are dependencies too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from tests.test_layout import PACKAGE, imports_of, module_name

ROOT = PACKAGE.parents[1]
RESOURCE = re.compile(r"resources/[\w.-]+")
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}  # a package: its __init__


def imported_files(script: Path) -> set[str]:
    """The package's files ``script`` imports, directly or through them (root-relative)."""
    pending, found = [script], set()
    while pending:
        for name in imports_of(pending.pop()):
            parts = name.split(".")
            for end in range(1, len(parts) + 1):  # a submodule's import runs its parents too
                path = MODULES.get(".".join(parts[:end]))
                if path is not None and path not in found:
                    found.add(path)
                    pending.append(path)
    return {path.relative_to(ROOT).as_posix() for path in found}


def resources_read(files: set[str]) -> set[str]:
    """The package's data files that ``files`` name in a string (root-relative)."""
    found = set()
    for file in files:
        for node in ast.walk(ast.parse((ROOT / file).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if RESOURCE.fullmatch(node.value) and (PACKAGE / node.value).is_file():
                    found.add((PACKAGE / node.value).relative_to(ROOT).as_posix())
    return found


def code_deps(stage: dict) -> list[str]:
    """A stage's dependencies on files of the repository (not data paths of params.yaml)."""
    return [d for d in stage["deps"] if isinstance(d, str) and "${" not in d]


def covered(path: str, deps: list[str]) -> bool:
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_a_stage_depends_on_the_code_and_package_data_it_reads(name):
    script = ROOT / "stages" / f"{name}.py"
    assert f"stages/{name}.py" in STAGES[name]["cmd"]
    deps = code_deps(STAGES[name])
    assert f"stages/{name}.py" in deps
    files = imported_files(script)
    undeclared = sorted(p for p in files | resources_read(files) if not covered(p, deps))
    assert undeclared == [], f"stage {name} reads files dvc.yaml does not list: {undeclared}"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_code_dependency_exists(name):
    assert [d for d in code_deps(STAGES[name]) if not (ROOT / d).exists()] == []


def test_the_reading_follows_imports_inside_functions_and_packages():
    """The booster module is imported inside a function of ``boosters``; the ``features``
    package's ``__init__`` runs for any of its modules."""
    files = imported_files(ROOT / "stages" / "train.py")
    assert "src/credit_scoring/modeling/xgb_booster.py" in files
    assert "src/credit_scoring/features/__init__.py" in files
    assert "src/credit_scoring/api/main.py" not in files
    profile = "src/credit_scoring/resources/home_credit_profile.json"
    assert resources_read(files) == {profile}  # data/schema.py builds the schema from it
