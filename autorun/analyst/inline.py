"""The source of chosen top-level definitions of the executor-side modules, for a block to carry.

A block runs where autorun is not installed (a container, another interpreter), so it
cannot import ``autorun.analyst``; it carries the functions it calls instead. Only the
named definitions are copied, in the module's order, so a block holds no unused code.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect


@functools.cache
def _definitions(module_name: str) -> dict[str, str]:
    source = inspect.getsource(importlib.import_module(module_name))
    lines = source.encode("utf-8").splitlines(keepends=True)
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        segment = _segment(lines, node)
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            found[node.name] = segment
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = segment
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found[f"import {ast.unparse(node)}"] = segment
    return found


def _segment(lines: list[bytes], node: ast.stmt) -> str:
    """``ast.get_source_segment`` for a top-level statement, from lines split once (it splits the
    whole source at every call, which made writing the builtin's helpers take 0.1 s)."""
    end_line = node.end_lineno if node.end_lineno is not None else node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else len(lines[end_line - 1])
    if end_line == node.lineno:
        return lines[node.lineno - 1][node.col_offset : end_col].decode("utf-8")
    first = lines[node.lineno - 1][node.col_offset :]
    return b"".join([first, *lines[node.lineno : end_line - 1], lines[end_line - 1][:end_col]]).decode("utf-8")


def carry(module: str, names: list[str]) -> str:
    """The module's imports and the named definitions, in the module's order."""
    definitions = _definitions(f"autorun.analyst.{module}")
    wanted = set(names)
    unknown = wanted - set(definitions)
    if unknown:
        raise KeyError(f"autorun.analyst.{module} defines no {sorted(unknown)}")
    parts = [src for key, src in definitions.items() if key in wanted or key.startswith("import ")]
    return "\n\n\n".join(parts) + "\n"


def carry_all(module: str, leave_out: tuple[str, ...] = ()) -> str:
    """The whole module but the named definitions (and its docstring)."""
    names = [name for name in _definitions(f"autorun.analyst.{module}") if not name.startswith("import ")]
    return carry(module, [name for name in names if name not in leave_out])
