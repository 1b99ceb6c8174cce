"""A data file's inspection as JSON values, for an inspection done in the kernel.

The values cross from the kernel, where untrusted code runs later, so reading them back
checks every field against its declared type.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any

from autorun.datafile import DataFileInfo


def info_to_json(info: DataFileInfo) -> dict[str, Any]:
    """``info`` as plain JSON values (for an inspection done in the kernel)."""
    return {**dataclasses.asdict(info), "path": str(info.path)}


def info_from_json(data: Any) -> DataFileInfo:
    """The inverse of ``info_to_json``; ValueError for anything else: every field is checked
    against its type, since the values cross from the kernel, where untrusted code runs later."""
    hints = typing.get_type_hints(DataFileInfo)
    if not isinstance(data, dict) or set(data) != set(hints) or not isinstance(data["path"], str):
        raise ValueError("not an inspection of a data file")
    if isinstance(data["sheets"], list):
        data = {**data, "sheets": [tuple(s) if isinstance(s, list) else s for s in data["sheets"]]}
    wrong = [name for name, hint in hints.items() if name != "path" and not _fits(data[name], hint)]
    if wrong:
        raise ValueError(f"not an inspection of a data file: {', '.join(wrong)} of the wrong type")
    return DataFileInfo(**{**data, "path": Path(data["path"])})


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value has the type ``hint`` (str, int, finite float, bool, None, unions, lists, dicts, tuples)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_fits(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(_fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items())
    if origin is tuple:
        return isinstance(value, tuple) and len(value) == len(args) and all(map(_fits, value, args))
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # NaN or infinity would break the size arithmetic that reads these
        return isinstance(value, float) and math.isfinite(value)
    return isinstance(value, hint)
