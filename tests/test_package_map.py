"""The package map: folders follow the course, lower layers never import higher ones.

Every ``import`` in the package (module level or inside a function) is read with ``ast``
and checked against the layer order written in ``course_utils/__init__.py``, and the
module import graph is checked for cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "course_utils"

# what each layer may import from the package (besides itself)
ALLOWED: dict[str, set[str]] = {
    "design": {"data"},
    "data": set(),
    "features": {"data"},
    "models": {"data", "features"},
    "evaluation": {"data", "features", "models"},
    "monitoring": {"data", "features", "models", "evaluation"},
    "serving": {"data", "features", "models", "evaluation", "monitoring"},
}
TOOLING = {"exercises", "benchmark", "notebooks", "scale", "site"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports, resolved to module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("course_utils"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("course_utils"):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if candidate in MODULES else node.module)
    return found


MODULES = {_module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_is_in_a_known_layer():
    layers = {_layer(m) for m in MODULES} - {None}
    unknown = layers - set(ALLOWED) - TOOLING
    assert not unknown, f"modules outside the package map: {sorted(unknown)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in ALLOWED))
def test_lower_layers_never_import_higher_ones(module):
    layer = _layer(module)
    bad = sorted(
        target
        for target in _imports(MODULES[module])
        if _layer(target) not in (None, layer) and _layer(target) not in ALLOWED[layer]
    )
    assert not bad, f"{module} ({layer}) imports {bad}; {layer} may import {ALLOWED[layer]}"


def test_no_import_cycles_between_modules():
    # package __init__ files only re-export their own modules, so they are left out
    graph = {
        m: {t for t in _imports(p) if t in MODULES and not MODULES[t].name == "__init__.py"}
        for m, p in MODULES.items()
        if p.name != "__init__.py"
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt in graph and state.get(nxt) is None:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            visit(node)


@pytest.mark.parametrize(
    "package",
    ["design", "data", "features", "models", "evaluation", "serving", "monitoring"],
)
def test_each_package_documents_its_step_and_exports_its_names(package):
    init = PACKAGE_DIR / package / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert doc and "Step" in doc.split("\n", 1)[0], f"{package}: first docstring line names no step"
    mod = __import__(f"course_utils.{package}", fromlist=["*"])
    exported = list(getattr(mod, "__all__", []))
    assert exported, f"course_utils.{package} has no __all__"
    assert len(exported) == len(set(exported)), f"course_utils.{package}.__all__ repeats names"
    missing = [name for name in exported if not hasattr(mod, name)]
    assert not missing, f"course_utils.{package}.__all__ names {missing} that it does not define"


def test_no_module_is_over_about_500_lines_unless_listed():
    # tooling, and one path that reads top to bottom (the service's request path), may be longer
    exempt = {
        "course_utils.notebooks",
        "course_utils.benchmark.serving",
        "course_utils.serving.service",
    }
    long = sorted(
        (m, n)
        for m, p in MODULES.items()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600 and m not in exempt
    )
    assert not long, f"modules over ~500 lines: {long}"


def test_readme_package_map_matches_the_tree():
    readme = (PACKAGE_DIR.parent / "README.md").read_text(encoding="utf-8")
    rows = [
        line
        for line in readme.splitlines()
        if line.startswith("| ") and "`course_utils." in line.split("|")[2]
    ]
    assert len(rows) >= 7, "README has no package map table"
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        packages = [p.strip("`") for p in cells[1].split(", ")]
        if len(packages) != 1:
            continue  # the tooling row
        package_dir = PACKAGE_DIR.parent / packages[0].replace(".", "/")
        listed = set(_backticked(cells[2]))
        actual = {
            str(p.relative_to(package_dir).with_suffix(""))
            for p in package_dir.rglob("*.py")
            if not p.name.startswith("_") or p.name == "__main__.py"
        }
        assert listed == actual, (
            f"{packages[0]}: README lists {sorted(listed)}, tree has {sorted(actual)}"
        )


def _backticked(text: str) -> list[str]:
    parts = text.split("`")
    return [parts[i] for i in range(1, len(parts), 2)]


@pytest.mark.parametrize(
    "package",
    ["design", "data", "features", "models", "evaluation", "serving", "monitoring"],
)
def test_no_public_name_shadows_a_module_of_its_package(package):
    mod = __import__(f"course_utils.{package}", fromlist=["*"])
    modules = {p.stem for p in (PACKAGE_DIR / package).glob("*.py")}
    clash = sorted(
        n for n in mod.__all__ if n in modules and getattr(mod, n).__class__.__name__ != "module"
    )
    assert not clash, f"course_utils.{package} exports {clash}, which hide modules of that name"
