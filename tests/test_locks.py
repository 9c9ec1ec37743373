"""The pinned lock files against pyproject.toml: one lock per install, the same pin everywhere.

``requirements-api.lock`` (API image) pins the core dependencies, ``requirements-ui.lock`` (UI
image) the ``ui`` extra, ``requirements.lock`` (the pipeline) core + ``pipeline``, and
``requirements-dev.lock`` includes the three and adds the ``dev`` tools. Each must be exactly the
dependency closure of its requirements: checked against the installed metadata when this venv
holds the dev lock's pins (``make setup``), skipped otherwise.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NAME = canonicalize_name(PROJECT["name"])
# Which requirements each lock pins: the core ("") and extras of pyproject.toml.
LOCKS = {
    "requirements-api.lock": [""],
    "requirements-ui.lock": ["ui"],
    "requirements.lock": ["", "pipeline"],
    "requirements-dev.lock": ["", "ui", "pipeline", "dev"],
    "requirements-spark.lock": ["spark"],
}
NOT_FROZEN = {"pip", "setuptools", "wheel"}  # pip freeze leaves them out
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([\w.+!-]+)")


def read_lock(name: str) -> tuple[dict[str, str], list[str]]:
    """The pins of a lock file (canonical name -> version, its includes too) and its includes."""
    pins: dict[str, str] = {}
    includes = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            includes.append(line.removeprefix("-r ").strip())
            pins.update(read_lock(includes[-1])[0])
        elif line:
            match = PIN.fullmatch(line)
            assert match, f"{name}: {line!r} is not an exact pin"
            pins[canonicalize_name(match[1])] = match[2]
    return pins, includes


def direct_requirements(groups: list[str]) -> list[Requirement]:
    """pyproject.toml's requirements of the core ("") and extras, the project's own extras
    expanded."""
    found = []
    for group in groups:
        lines = PROJECT["dependencies"] if group == "" else PROJECT["optional-dependencies"][group]
        for requirement in map(Requirement, lines):
            if canonicalize_name(requirement.name) == NAME:
                found += direct_requirements(sorted(requirement.extras))
            else:
                found.append(requirement)
    return found


def closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution the requirements pull in, read from the installed metadata."""
    seen: set[tuple[str, frozenset[str]]] = set()
    names = set()
    stack = list(requirements)
    while stack:
        requirement = stack.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        names.add(name)
        for line in metadata.requires(name) or []:
            sub = Requirement(line)
            markers = [{"extra": extra} for extra in extras | {""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in markers):
                stack.append(sub)
    return names - NOT_FROZEN


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_pins_exact_versions_without_cuda(lock):
    pins, _ = read_lock(lock)
    assert pins
    if "" in LOCKS[lock]:
        assert "xgboost-cpu" in pins
    assert "xgboost" not in pins, "xgboost-cpu: the same library without the CUDA build"
    assert not [name for name in pins if name.startswith("nvidia-")]


def test_locks_agree_and_nest():
    pins = {lock: read_lock(lock)[0] for lock in LOCKS}
    versions: dict[str, set[str]] = {}
    for lock_pins in pins.values():
        for name, version in lock_pins.items():
            versions.setdefault(name, set()).add(version)
    assert {name: found for name, found in versions.items() if len(found) > 1} == {}
    assert pins["requirements-api.lock"].items() <= pins["requirements.lock"].items()
    others = ["requirements.lock", "requirements-api.lock", "requirements-ui.lock"]
    assert sorted(read_lock("requirements-dev.lock")[1]) == sorted(others)


def test_images_stay_apart():
    api, ui = read_lock("requirements-api.lock")[0], read_lock("requirements-ui.lock")[0]
    assert {"fastapi", "mlflow", "xgboost-cpu", "lightgbm", "shap"} <= api.keys()
    assert not {"streamlit", "dvc", "evidently", "hydra-core"} & api.keys()
    assert {"streamlit", "httpx", "plotly"} <= ui.keys()
    assert not {"mlflow", "xgboost-cpu", "scikit-learn", "shap", "fastapi"} & ui.keys()


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_is_the_closure_of_its_requirements(lock):
    pins = read_lock(lock)[0]
    dev_pins = read_lock("requirements-dev.lock")[0]
    stale = {name: installed(name) for name, pin in dev_pins.items() if installed(name) != pin}
    if stale:
        pytest.skip(f"this venv does not hold requirements-dev.lock (make setup): {stale}")
    expected = closure(direct_requirements(LOCKS[lock]))
    assert {"missing": expected - pins.keys(), "extra": pins.keys() - expected} == {
        "missing": set(),
        "extra": set(),
    }
