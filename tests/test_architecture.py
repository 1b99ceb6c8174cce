"""The one direction of imports: each part of autorun imports only from the layers below it (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "autorun"

# Lowest first. A module may import from its own part and from any lower layer.
LAYERS: list[tuple[str, ...]] = [
    (
        "errors",
        "units",
        "secrets",
        "output",
        "block_results",
        "codeblocks",
        "events",
        "nofollow",
        "threads",
        "published",
        "__init__",
    ),
    (
        "datafile",
        "datafile_json",
        "sampling",
        "prompts",
        "answers",
        "analyst",
        "artifacts",
        "snapshots",
        "record",
    ),
    ("models", "executors", "config"),
    ("redact", "render", "transcripts"),
    ("session",),
    ("analyse", "chat", "batch", "doctor", "export", "evaluation", "session_list", "cluster"),
    ("cli", "__main__"),
]
# Parts of one layer that may use each other (lower first): nothing else crosses within a layer.
SAME_LAYER = {
    ("block_results", "output"),  # the result text caps the output as the model gets it
    ("block_results", "units"),  # and words the timeout and the memory limit
    ("datafile", "sampling"),
    ("datafile", "analyst"),  # analyst's roles/reading/kinds run inside executors too: they import nothing above
    ("datafile_json", "datafile"),  # the inspection as JSON, across the kernel boundary
    ("artifacts", "snapshots"),  # the artifact scan hands each image it read to the session's copies
    ("chat", "analyse"),
    ("evaluation", "analyse"),  # the answer contract's LLM check
    ("evaluation", "batch"),  # each question is a batch child session
    ("cluster", "batch"),  # a worker runs a batch child session; the client drives batch items
    ("__main__", "cli"),
}


def part_of(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def layer_of(part: str) -> int:
    for number, parts in enumerate(LAYERS):
        if part in parts:
            return number
    raise AssertionError(f"autorun.{part} is in no layer of tests/test_architecture.py: give it one")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The autorun modules ``path`` imports (``from pkg import submodule`` counts as the submodule)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "autorun" or node.module.startswith("autorun."):
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("autorun."))
    return found - {module_name(path)}


def graph() -> dict[str, set[str]]:
    paths = list(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports_of(path, modules) for path in paths}


def test_every_import_points_down_or_stays_in_its_part() -> None:
    wrong = []
    for module, imported in graph().items():
        part = part_of(module)
        for target in imported:
            other = part_of(target)
            if other == part:
                continue
            if layer_of(other) > layer_of(part) or (
                layer_of(other) == layer_of(part) and (part, other) not in SAME_LAYER
            ):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_there_is_no_import_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if target not in edges:
                continue
            if state.get(target) == 1:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_modules_stay_readable_in_one_sitting() -> None:
    long = [
        f"{p.relative_to(PACKAGE)}: {n}" for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 450
    ]
    assert not long, "modules over 450 lines (split them):\n" + "\n".join(long)
