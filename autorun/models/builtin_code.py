"""The python blocks the builtin analyst writes, one per step: plain calls with literal arguments.

Every function a block calls lives in autorun's own package (``autorun/analyst/steps.py`` and
the modules it imports), which the block imports from where autorun is installed, read-only
to the code (``Target.runtime_root``: the sandbox and Docker show autorun's package there).
Nothing of autorun's is written to the work dir. The first block reads the whole file into
DuckDB (a cache serves later blocks); in a kernel later blocks reuse its ``data``, in a fresh
process per block each opens the data again (from the cache) before its step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from autorun.analyst.describe import read_kwargs
from autorun.datafile import DataFileInfo

TAG = "# autorun-builtin step={step} attempt={attempt}"
MAX_MEASURES = 8
MAX_GROUPS = 4
STEP_FUNCTIONS = {"load": "load_step", "measures": "measures_step", "groups": "groups_step", "trend": "trend_step"}
OTHER_ENGINES = {"excel": "calamine"}
REOPENED_CACHE_BYTES = 8 * 2**20  # a process per block reads a file this big once, into the disk cache


@dataclass(frozen=True)
class Fixes:
    """Corrections learned from failed blocks; they apply to every later block."""

    encoding: str | None = None
    resniff: bool = False
    lines: bool = False
    engines: bool = False
    on_disk: bool = False  # read into the disk cache even for a small file, so DuckDB can spill
    careful: bool = False
    self_contained: bool = False  # the executor lost its state: reopen the data in every block

    def with_(self, **changes: object) -> Fixes:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Plan:
    """What the analysis covers, decided from the column roles and the table's shape."""

    measures: list[tuple[str, str]]  # (column, aggregation: sum | mean | median)
    primary: str | None
    groups: list[str]
    date: str | None
    date_is_year: bool = False
    dayfirst: bool = False
    part: str | None = None  # the quarter or month column of a date split across columns
    part_kind: str | None = None
    entity: str | None = None  # the entity column of a panel: trends per entity
    free_text: list[str] = field(default_factory=list)

    @property
    def primary_agg(self) -> str:
        return next((agg for name, agg in self.measures if name == self.primary), "count")


@dataclass(frozen=True)
class Target:
    """Where the block runs: the data file as the code sees it, autorun's package root there, the memory limit."""

    data_path: str
    runtime_root: str
    stateful: bool = False
    memory_limit: int | None = None


def read_options(info: DataFileInfo, fixes: Fixes) -> dict[str, Any]:
    """How the file is read (the runtime's ``read`` argument), with the fixes applied."""
    read: dict[str, Any] = {}
    if info.format in ("csv", "tsv"):
        read = read_kwargs(info)  # pandas' options for the file, which the runtime takes by the same names
        read.pop("dtype", None)
        read["encoding"] = fixes.encoding or info.encoding
        if info.text_columns:
            read["text_columns"] = list(info.text_columns)
        if any(name.startswith("Unnamed: ") for name in info.columns):
            read["names"] = list(info.columns)  # pandas' names for empty header fields, which DuckDB calls column0
        if fixes.resniff:
            read["sep"] = None
    if info.format == "excel" and info.sheet is not None:
        read["sheet"] = info.sheet
    if fixes.engines and info.format in OTHER_ENGINES:
        read["engine"] = OTHER_ENGINES[info.format]
    if fixes.lines and info.format == "json":
        read["lines"] = True
    return read


def render(step: str, attempt: int, info: DataFileInfo, target: Target, plan: Plan, fixes: Fixes) -> str:
    """The python block for one step of the plan."""
    reuse = target.stateful and not fixes.self_contained and step != "load"
    parts = [TAG.format(step=step, attempt=attempt)]
    if not reuse:
        names = sorted(STEP_FUNCTIONS.values()) if target.stateful and step == "load" else [STEP_FUNCTIONS[step]]
        if step != "load":
            names = sorted([*names, "open_data"])
        parts.append(
            "import sys\n\n"
            f"sys.path.insert(0, {target.runtime_root!r})  # autorun's own code, read-only where this runs\n"
            f"from autorun.analyst.steps import {', '.join(names)}\n"
        )
        parts.append(_open_line(step, info, target, plan, fixes))
    parts.append(BODIES[step](plan, fixes))
    return "\n".join(parts)


def _open_line(step: str, info: DataFileInfo, target: Target, plan: Plan, fixes: Fixes) -> str:
    fmt = "jsonl" if info.format == "json" and fixes.lines else info.format
    args = [repr(target.data_path), repr(fmt), repr(read_options(info, fixes))]
    if target.memory_limit:
        args.append(f"memory_limit={target.memory_limit}")
    if fixes.on_disk or (not target.stateful and info.size_bytes >= REOPENED_CACHE_BYTES):
        args.append("cache='always'")  # a process per block: each block reopens the cache, never re-reads
    if step == "load":
        if target.stateful and not fixes.self_contained:
            args.append("charts=True")
        return f"data = load_step({', '.join(args)})\n"
    return f"data = open_data({', '.join(args)})\n"


def _columns(names: list[Any], fixes: Fixes, pairs: bool = False) -> str:
    """The list literal, or (careful retry) a filter keeping the columns the data has."""
    if not fixes.careful:
        return repr(names)
    item = "m[0]" if pairs else "m"
    return f"[m for m in {names!r} if {item} in data.columns]"


def _load_body(plan: Plan, fixes: Fixes) -> str:
    return ""


def _measures_body(plan: Plan, fixes: Fixes) -> str:
    return f"measures_step(data, {_columns(plan.measures, fixes, pairs=True)})\n"


def _groups_body(plan: Plan, fixes: Fixes) -> str:
    groups, measures = _columns(plan.groups[:MAX_GROUPS], fixes), _columns(plan.measures, fixes, pairs=True)
    return f"groups_step(data, {groups}, {measures}, {plan.primary!r})\n"


def _trend_body(plan: Plan, fixes: Fixes) -> str:
    agg = plan.primary_agg if plan.primary else "count"
    options = []
    if plan.part:
        options += [f"part={plan.part!r}", f"part_kind={plan.part_kind!r}"]
    elif plan.date_is_year:
        options.append("year=True")
    if plan.entity:
        options.append(f"entity={plan.entity!r}")
    if plan.dayfirst:
        options.append("dayfirst=True")
    extra = "".join(f", {o}" for o in options)
    return f"trend_step(data, {plan.date!r}, {plan.primary!r}, {agg!r}{extra})\n"


BODIES = {"load": _load_body, "measures": _measures_body, "groups": _groups_body, "trend": _trend_body}
