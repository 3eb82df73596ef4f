"""Consistency of the environment files: requirements.txt, environment.yml, pyproject.toml
and the Colab constraints used by CI (.ci/colab-constraints.txt).

- requirements.txt and environment.yml pin the same packages at the same versions, both
  install the package itself, and environment.yml pins Python;
- pyproject's dependency ranges admit both the pinned versions and what Google Colab ships.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - CI runs 3.11 and 3.13
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]

# What Google Colab ships (the Colab CI leg installs exactly these).
COLAB_PYTHON = "3.13"
COLAB_VERSIONS = {
    "numpy": "2.1.3",
    "pandas": "2.2.3",
    "scipy": "1.16.3",
    "scikit-learn": "1.6.1",
    "matplotlib": "3.10.0",
    "seaborn": "0.13.2",
}

# conda-forge package name -> PyPI name, where they differ.
CONDA_ALIASES = {"matplotlib-base": "matplotlib"}
CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?:(?P<op>==|=)\s*(?P<version>\S+))?$")
LOCAL_INSTALL = {"-e .", "-e ./", "."}


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _pins_from_requirements(lines: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lines:
        if line in LOCAL_INSTALL:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise ValueError(f"expected an exact pin 'name==version'; got {line!r}")
        pins[canonicalize_name(req.name)] = specs[0].version
    return pins


@pytest.fixture(scope="module")
def requirements() -> list[str]:
    return _requirement_lines(ROOT / "requirements.txt")


@pytest.fixture(scope="module")
def environment() -> dict:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    if not isinstance(env, dict):
        raise TypeError(f"environment.yml should be a mapping; got {type(env).__name__}")
    return env


@pytest.fixture(scope="module")
def env_conda(environment) -> dict[str, tuple[str | None, str | None]]:
    """conda dependencies as {pypi name: (operator, version)}."""
    specs: dict[str, tuple[str | None, str | None]] = {}
    for dep in environment["dependencies"]:
        if isinstance(dep, dict):
            continue
        match = CONDA_SPEC.match(dep.strip())
        assert match, f"cannot parse conda dependency {dep!r}"
        name = CONDA_ALIASES.get(match["name"], match["name"])
        specs[canonicalize_name(name)] = (match["op"], match["version"])
    return specs


@pytest.fixture(scope="module")
def env_pip(environment) -> list[str]:
    sections = [dep["pip"] for dep in environment["dependencies"] if isinstance(dep, dict)]
    return [str(line).strip() for section in sections for line in section]


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_requirements_pins_are_exact_and_install_the_package(requirements):
    pins = _pins_from_requirements(requirements)
    assert pins, "requirements.txt pins nothing"
    assert LOCAL_INSTALL & set(requirements), "requirements.txt must install the package (-e .)"


def test_environment_uses_conda_forge_and_pins_python(environment, env_conda):
    assert environment.get("channels") == ["conda-forge"]
    op, version = env_conda.get("python", (None, None))
    assert version is not None, "environment.yml must pin python (python=3.11)"
    assert Version(version).release[:2] == (3, 11), f"expected python 3.11; got {version}"


def test_environment_installs_the_package(env_pip):
    assert LOCAL_INSTALL & set(env_pip), "environment.yml's pip section must install -e ."


def test_environment_pins_match_requirements(requirements, env_conda, env_pip):
    wanted = _pins_from_requirements(requirements)
    found: dict[str, str] = {}
    for name, (op, version) in env_conda.items():
        if name in {"python", "pip"}:
            continue
        assert op == "==", f"environment.yml: expected '{name}==<version>'; got op {op!r}"
        found[name] = version
    pip_pins = _pins_from_requirements(env_pip)
    assert not set(found) & set(pip_pins), "a package is pinned both by conda and by pip"
    found.update(pip_pins)
    missing = {n: v for n, v in wanted.items() if n not in found}
    extra = {n: v for n, v in found.items() if n not in wanted}
    differ = {n: (v, found[n]) for n, v in wanted.items() if n in found and found[n] != v}
    assert not missing, f"pinned in requirements.txt but not in environment.yml: {missing}"
    assert not extra, f"pinned in environment.yml but not in requirements.txt: {extra}"
    assert not differ, f"versions differ (requirements.txt, environment.yml): {differ}"


def test_every_dependency_is_pinned_in_requirements(requirements, pyproject):
    pins = _pins_from_requirements(requirements)
    names = {canonicalize_name(Requirement(d).name) for d in pyproject["project"]["dependencies"]}
    unpinned = sorted(names - set(pins))
    assert not unpinned, f"dependencies without a pin in requirements.txt: {unpinned}"


def _dependency_ranges(pyproject: dict, extras: bool) -> dict[str, Requirement]:
    deps = list(pyproject["project"]["dependencies"])
    if extras:
        for group in pyproject["project"].get("optional-dependencies", {}).values():
            deps.extend(group)
    return {canonicalize_name(Requirement(d).name): Requirement(d) for d in deps}


def test_dependency_ranges_admit_colab(pyproject):
    ranges = _dependency_ranges(pyproject, extras=False)
    for name, version in COLAB_VERSIONS.items():
        req = ranges.get(canonicalize_name(name))
        assert req is not None, f"{name} (shipped by Colab) is not a dependency in pyproject"
        assert req.specifier.contains(version, prereleases=True), (
            f"pyproject requires {req}; Colab ships {name} {version}"
        )
    python = pyproject["project"]["requires-python"]
    assert SpecifierSet(python).contains(f"{COLAB_PYTHON}.0"), f"requires-python {python}"


def test_dependency_ranges_admit_pinned_versions(requirements, pyproject):
    pins = _pins_from_requirements(requirements)
    for name, req in _dependency_ranges(pyproject, extras=True).items():
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"pyproject requires {req}; requirements.txt pins {name}=={pins[name]}"
            )
    python = pyproject["project"]["requires-python"]
    assert SpecifierSet(python).contains("3.11.0"), f"requires-python {python}"


def test_colab_constraints_file_matches_colab_versions():
    pins = _pins_from_requirements(_requirement_lines(ROOT / ".ci" / "colab-constraints.txt"))
    expected = {canonicalize_name(n): v for n, v in COLAB_VERSIONS.items()}
    assert pins == expected
