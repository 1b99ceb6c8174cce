"""The one direction of imports: each part of autorun imports only from the layers below it (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "autorun"
ARCHITECTURE_MD = REPO / "ARCHITECTURE.md"
TABLE_SCRIPT = REPO / "scripts" / "architecture-table.py"

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
# Parts of one layer that may use each other (lower first), and why: nothing else crosses within a layer.
SAME_LAYER = {
    ("block_results", "output"): "the result text caps the output as the model gets it",
    ("block_results", "units"): "and words the timeout and the memory limit",
    ("datafile", "sampling"): "a data file is opened by what a sample of its text says",
    (
        "datafile",
        "analyst",
    ): "the analyst's roles, reading and kinds run inside executors too: they import nothing above",
    ("datafile_json", "datafile"): "the inspection as JSON, across the kernel boundary",
    ("artifacts", "snapshots"): "the artifact scan hands each image it read to the session's copies",
    ("evaluation", "analyse"): "the answer contract's LLM check",
    ("evaluation", "batch"): "each question is a batch child session",
    ("cluster", "batch"): "a worker runs a batch child session; the client drives batch items",
    ("__main__", "cli"): "`python -m autorun` is the CLI",
}

# ARCHITECTURE.md's layer table, written from these by scripts/architecture-table.py: each layer's
# name, and what each part is (a part of LAYERS without one here fails the test below).
LAYER_NAMES = [
    "foundation",
    "data",
    "parts",
    "sinks",
    "session",
    "use cases",
    "CLI",
]
PARTS = {
    "errors": "exit codes and the errors that carry them",
    "units": "sizes and durations as users write them and as autorun prints them",
    "secrets": "what a secret is (names that hold one, values that look like one)",
    "output": "output capping",
    "block_results": "a block's result as the model reads it (the AutoGen text, written and read back, and the "
    "exit codes autorun gives a block)",
    "codeblocks": "fenced-block parsing (the one reading of a fence, for running and for hiding)",
    "events": "the frozen event values and the `Sink` protocol",
    "nofollow": "opening, reading, writing and removing files without following symlinks (the one `read_inside`)",
    "threads": "background threads that never take the main thread's signals",
    "published": "the marked output lines a block publishes values in (the builtin's facts, taken out of the "
    "output and recorded in `execution_result`)",
    "__init__": "the version",
    "datafile": "reading a sample of the data file",
    "datafile_json": "that inspection as JSON, checked field by field when it comes back from the kernel",
    "sampling": "what a text sample says: encoding, delimiter, number format, whole records",
    "prompts": "the analyst prompts",
    "answers": "the answer contract: asking for `@name[value]` or a `FINAL ANSWER:` line, reading it off the "
    "final message",
    "analyst": "column roles, reading a whole file and the builtin's steps and summary (lowest: its DuckDB "
    "engine, roles, reading and report modules also run inside executors, imported read-only from autorun's "
    "installed package)",
    "artifacts": "which files a block wrote (a work-dir scan that never follows symlinks)",
    "snapshots": "every image a session made, kept by content hash beside its transcript, for its reports",
    "record": "the session record: where it lives (`record/state.py`, autorun's state dir, the one module that "
    "knows those paths) and how it is read back (`record/reader.py` and `record/decode.py`, the one hardened "
    "reader and its per-event-type decoders)",
    "models": "the `Model` seam and its models: an OpenAI-compatible endpoint, the builtin analyst, replay",
    "executors": "the `Executor` seam and its executors (local, sandbox, Docker, none), the session kernel, "
    "and the host-process machinery they share",
    "config": "the configuration's schema and defaults, and loading it from files, the environment and flags",
    "redact": "secret values replaced in everything shown, sent or recorded",
    "render": "the terminal and JSON Lines output",
    "transcripts": "the transcript writer; replay, resume, results (read through `record/`)",
    "session": "the loop, its human-input seam, the terminal person, the factory",
    "analyse": "one session on a data file, one opening request",
    "chat": "a conversation about data files",
    "batch": "one child `autorun analyse` per file, N at a time",
    "doctor": "checks with a fix for each",
    "export": "a transcript as a report: notebook, HTML or Markdown",
    "evaluation": "a question set asked as batch child sessions and scored by the benchmark's official rules",
    "session_list": "the rows of `autorun sessions`",
    "cluster": "batch and eval sessions as Dask tasks behind the batch's runner seam",
    "cli": "Typer commands; each module registers its commands on `cli/app.py`'s app",
    "__main__": "`python -m autorun`",
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


def table_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("architecture_table", TABLE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_part_is_described_and_every_same_layer_use_is_real() -> None:
    parts = [part for layer in LAYERS for part in layer]
    assert len(LAYER_NAMES) == len(LAYERS)
    assert sorted(PARTS) == sorted(parts), "give each part of LAYERS one line in PARTS (and only those)"
    crossing = {
        (part_of(module), part_of(target))
        for module, imported in graph().items()
        for target in imported
        if part_of(module) != part_of(target)
    }
    assert sorted(set(SAME_LAYER) - crossing) == [], "SAME_LAYER allows uses that no longer happen: drop them"


def test_architecture_md_shows_the_layers_and_same_layer_uses_here() -> None:
    script = table_script()
    current = ARCHITECTURE_MD.read_text(encoding="utf-8")
    expected = script.replace_between_markers(current, script.render(LAYERS, LAYER_NAMES, PARTS, SAME_LAYER))
    fix = "python scripts/architecture-table.py --write ARCHITECTURE.md"
    assert current == expected, f"ARCHITECTURE.md's layer table differs from tests/test_architecture.py; run: {fix}"
