"""The package layering of DESIGN §3, read from every import statement (function-level ones
too): domain packages never import the gateway, FastAPI or Kafka; the agency side imports nothing
of the server; inside the gateway no import runs back up the floors of its data flow, and no
modules import each other in a circle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "adapters", "consent", "audit", "recipient", "gateway")

# What each top-level package may import of the project and of the server-side libraries.
SERVER_LIBRARIES = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg"}
FORBIDDEN: dict[str, set[str]] = {
    "schemas": {"adapters", "consent", "audit", "recipient", "gateway", "kafka", "fastapi"},
    "adapters": {"consent", "audit", "recipient", "gateway", "kafka", "fastapi", "sqlalchemy"},
    "consent": {"adapters", "audit", "recipient", "gateway", "kafka", "fastapi"},
    "audit": {"adapters", "consent", "recipient", "gateway", "kafka", "fastapi"},
    "recipient": {"adapters", "consent", "audit", "gateway", *SERVER_LIBRARIES},
    "gateway": set(),
}

# The gateway's subpackages from the bottom floor up: a module may import its own floor and the
# floors below, never one above (the order follows DESIGN §2's flow).
GATEWAY_FLOORS = [
    {"errors", "clock"},
    {"db"},
    {"config"},
    {"envelope", "kafka"},
    {"checkpoints"},
    {"intake"},
    {"delivery"},
    {"plan"},
    {"api", "console"},
    {"demo"},
    {"cli"},
]
FLOOR = {name: level for level, names in enumerate(GATEWAY_FLOORS) for name in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def source_files(package: str) -> list[Path]:
    return sorted(
        p for p in (PROJECT / package).rglob("*.py") if "migrations/versions" not in p.as_posix()
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_what_their_layer_allows(package: str) -> None:
    wrong = [
        f"{module_name(path)} imports {name}"
        for path in source_files(package)
        for name in sorted(imports_of(path))
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_gateway_imports_never_run_back_up_the_floors() -> None:
    wrong = []
    for path in source_files("gateway"):
        name = module_name(path)
        parts = name.split(".")
        if len(parts) < 2:
            continue
        mine = FLOOR.get(parts[1])
        assert mine is not None, f"{name}: a gateway subpackage without a floor"
        for imported in imports_of(path):
            target = imported.split(".")
            above = target[0] == "gateway" and len(target) > 1 and FLOOR.get(target[1], 0) > mine
            if above:
                wrong.append(f"{name} (floor {mine}) imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    modules = {module_name(p): p for pkg in PACKAGES for p in source_files(pkg)}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for imported in imports_of(path):
            if imported in modules and imported != name:
                graph[name].add(imported)
    # A package imports its own modules through __init__ re-exports; the cycle that matters is
    # one between sibling modules, so edges into a package's own __init__ from inside it go.
    for name in list(graph):
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(modules):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


# What docs/integration.md §15 tells an agency to install beside `helhet --no-deps`.
# Loaded when present but not needed: httpx imports its command line's optional extras (rich,
# pygments), and setuptools' .pth hook loads _distutils_hack in every interpreter.
OPTIONAL_WHEN_PRESENT = {"rich", "pygments", "markdown-it-py", "mdurl", "setuptools"}
AGENCY_SIDE_REQUIREMENTS = [
    "pydantic",
    "cryptography",
    "kafka-python",
    "crc32c",
    "httpx",
    "rfc8785",
    "click",
]


def _closure(requirements: list[str]) -> set[str]:
    """The installed distributions these requirements pull in (themselves included)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_the_agency_side_runs_without_any_server_module() -> None:
    """Importing all of `recipient` (and running its CLI's --help) loads no server module."""
    code = (
        "import sys, importlib, pkgutil, recipient\n"
        "for m in pkgutil.walk_packages(recipient.__path__, 'recipient.'):\n"
        "    importlib.import_module(m.name)\n"
        "from click.testing import CliRunner\n"
        "from recipient.cli import command\n"
        "assert CliRunner().invoke(command, ['--help']).exit_code == 0\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(SERVER_LIBRARIES)!r}"
        " + ['gateway', 'consent', 'audit', 'adapters'])\n"
        "print(bad)\n"
        "from importlib import metadata\n"
        "owners = metadata.packages_distributions()\n"
        "import json\n"
        "print(json.dumps(sorted({d.lower().replace('_', '-') for m in list(sys.modules)"
        " for d in owners.get(m.split('.')[0], [])})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    server_modules, distributions = result.stdout.strip().splitlines()
    assert server_modules == "[]"
    loaded = set(json.loads(distributions)) - {"helhet"} - OPTIONAL_WHEN_PRESENT
    assert loaded <= _closure(AGENCY_SIDE_REQUIREMENTS), loaded - _closure(AGENCY_SIDE_REQUIREMENTS)
    assert not {"fastapi", "sqlalchemy", "uvicorn", "alembic"} & _closure(AGENCY_SIDE_REQUIREMENTS)
