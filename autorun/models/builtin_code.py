"""The python blocks the builtin analyst writes, one per step.

Each block carries the source of the functions it calls (``autorun.analyst`` modules,
via ``inline.carry``), because it runs where autorun is not installed; it must run
unchanged on pandas 1.5 (Debian, in the Docker image) and pandas 3.x. The first block
(load, roles, data quality) is the same whether or not the executor keeps state between
blocks, but for one line in a kernel: matplotlib starts loading on a thread for the chart
steps to come. Later blocks either reuse the loaded ``df`` (stateful executor: no preamble, no
reload) or load the file again themselves (a fresh process per block). Figures go to the
screen as tables and, for the summary, to a JSON facts file in the work directory.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from autorun.analyst.inline import carry, carry_all
from autorun.analyst.toolkit import TOOLKIT_DIR, TOOLKIT_MODULE
from autorun.datafile import DataFileInfo, read_kwargs

TAG = "# autorun-builtin step={step} attempt={attempt}"
CHARTS_MEANWHILE = "load_charts_meanwhile()  # matplotlib loads while the data does"
MAX_MEASURES = 8
MAX_GROUPS = 4
ROW_LIMIT = 200_000
TZ_OFFSET_RE = r"(\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d\d:?\d\d)$"
OTHER_ENGINES = {"parquet": "fastparquet", "excel": "calamine"}
READER = [
    "NUMBER_TEXT_RE", "CONVERT_SHARE", "load_table", "_read_delimited", "_read_workbook", "largest_sheet",
    "flatten_nested", "convert_number_text", "_to_numbers",
]  # fmt: skip
COUNTER = ["count_lines", "open_decompressed"]
COMMON = ["fmt", "plain", "save_facts", "show", "label", "numbers", "AGG_WORDS"]
STEP_FUNCTIONS = {
    "load": ["report_load", "MOSTLY_MISSING", "load_charts_meanwhile"],
    "measures": ["report_measures", "MIN_CORRELATION"],
    "groups": ["report_groups", "group_labels", "same_groups", "save_chart", "chart_name", "CHART_BARS"],
    "trend": ["report_trend", "period_keys", "date_labels", "SHOWN_PERIODS", "save_chart", "chart_name", "CHART_BARS"],
}


@dataclass(frozen=True)
class Fixes:
    """Corrections learned from failed blocks; they apply to every later block."""

    encoding: str | None = None
    python_engine: bool = False
    resniff: bool = False
    lines: bool = False
    local_dates: bool = False
    utc_dates: bool = False
    strip_columns: bool = False
    engines: bool = False
    compact: bool = False  # read text columns as categories and leave free text out, to fit in memory
    inline: bool = False  # the helper module is not where the code runs: carry its functions in the block
    max_rows: int | None = None
    careful: bool = False
    self_contained: bool = False  # the executor lost its state: reload in every block

    def with_(self, **changes: object) -> Fixes:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Plan:
    """What the analysis covers, decided from the column roles."""

    measures: list[tuple[str, str]]  # (column, aggregation: sum | mean | median)
    primary: str | None
    groups: list[str]
    date: str | None
    date_is_year: bool = False
    dayfirst: bool = False
    free_text: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    @property
    def primary_agg(self) -> str:
        return next((agg for name, agg in self.measures if name == self.primary), "count")


PREAMBLE = """import warnings

warnings.simplefilter("ignore", FutureWarning)
warnings.simplefilter("ignore", DeprecationWarning)

import pandas as pd

warnings.simplefilter("ignore", pd.errors.DtypeWarning)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)
"""


@dataclass(frozen=True)
class Target:
    """Where the block runs: the data file and facts file as the code sees them, and whether state is kept."""

    data_path: str
    facts_path: str
    stateful: bool = False


IMPORTS = f"""import sys
import warnings

sys.dont_write_bytecode = True  # leave no __pycache__ in the work dir
sys.path.insert(0, {str(TOOLKIT_DIR)!r})  # autorun's helpers for this analysis: {TOOLKIT_MODULE}.py
warnings.simplefilter("ignore")  # pandas' deprecation and dtype notes are not findings
"""
STEP_IMPORTS = {
    "load": ["load_table", "infer_roles", "report_load"],
    "measures": ["report_measures"],
    "groups": ["report_groups"],
    "trend": ["report_trend"],
}


def render(step: str, attempt: int, info: DataFileInfo, target: Target, plan: Plan, fixes: Fixes) -> str:
    """The python block for one step of the plan: imports from the helper module, then the analysis."""
    if fixes.inline:
        return render_inline(step, attempt, info, target, plan, fixes)
    reuse = target.stateful and not fixes.self_contained and step != "load"
    names = list(STEP_IMPORTS[step])
    if not reuse and step != "load":
        names.insert(0, "load_table")
    if step == "load" and fixes.max_rows:
        names.append("count_lines")
    if charts_meanwhile(step, target, plan):
        names.append("load_charts_meanwhile")
    parts = [TAG.format(step=step, attempt=attempt)]
    if not reuse:
        parts.append(IMPORTS)
    if step == "trend":
        parts.append("import warnings\n\nimport pandas as pd" if reuse else "import pandas as pd")
    parts.append(f"from {TOOLKIT_MODULE} import {', '.join(names)}\n")
    if charts_meanwhile(step, target, plan):
        parts.append(CHARTS_MEANWHILE)
    if not reuse:
        parts.append(load_lines(info, target, plan, fixes, announce=step == "load"))
    else:
        parts.append(f"FACTS = {target.facts_path!r}")
    parts.append(BODIES[step](info, plan, fixes))
    return "\n".join(parts)


def charts_meanwhile(step: str, target: Target, plan: Plan) -> bool:
    """Whether the load block starts importing matplotlib: later steps draw charts in the same kernel."""
    return step == "load" and target.stateful and bool(plan.groups or plan.date)


def render_inline(step: str, attempt: int, info: DataFileInfo, target: Target, plan: Plan, fixes: Fixes) -> str:
    """The block carrying the helper functions it calls (when the helper module cannot be imported)."""
    tag = TAG.format(step=step, attempt=attempt)
    reuse = target.stateful and not fixes.self_contained and step != "load"
    carried = STEP_FUNCTIONS[step] if reuse else COMMON + STEP_FUNCTIONS[step]  # the load block defined COMMON
    parts = [tag]
    if not reuse:
        parts += [PREAMBLE, "# --- how the file is read (autorun/analyst/reading.py) ---", carry("reading", READER)]
        if fixes.max_rows and step == "load":
            parts.append(carry("reading", COUNTER))
    if step == "load":
        roles = carry_all("roles", ("PRIMARY_ORDER", "primary_measure"))
        parts += ["# --- column roles (autorun/analyst/roles.py) ---", roles]
    parts += ["# --- the report (autorun/analyst/report.py) ---", carry("report", carried)]
    parts.append("# --- this step ---")
    if charts_meanwhile(step, target, plan):
        parts.append(CHARTS_MEANWHILE)
    if not reuse:
        parts.append(load_lines(info, target, plan, fixes, announce=step == "load"))
    else:
        parts.append(f"FACTS = {target.facts_path!r}\n")
    parts.append(BODIES[step](info, plan, fixes))
    return "\n".join(parts)


def load_options(info: DataFileInfo, plan: Plan, fixes: Fixes) -> dict[str, Any]:
    """The options ``load_table`` gets: reader arguments with the fixes applied, sheet, row limit."""
    options: dict[str, Any] = {}
    if info.format in ("csv", "tsv"):
        csv = read_kwargs(info)
        if fixes.encoding:
            csv["encoding"] = fixes.encoding
        if fixes.resniff:
            csv.update(sep=None, engine="python")
        elif fixes.python_engine:
            csv["engine"] = "python"
        if fixes.compact:
            csv["dtype"] = {**csv.get("dtype", {}), **{name: "category" for name in plan.categories}}
            csv["usecols"] = [name for name in info.columns if name not in plan.free_text]
        options["csv"] = csv
    if info.format == "excel" and info.sheet is not None:
        options["sheet"] = info.sheet
    if fixes.engines and info.format in OTHER_ENGINES:
        options["engine"] = OTHER_ENGINES[info.format]
    if fixes.max_rows:
        options["nrows"] = fixes.max_rows
    return options


def load_lines(info: DataFileInfo, target: Target, plan: Plan, fixes: Fixes, announce: bool) -> str:
    fmt = "jsonl" if info.format == "json" and fixes.lines else info.format
    lines = [f"DATA = {target.data_path!r}", f"FACTS = {target.facts_path!r}"]
    if announce and fixes.compact:
        skipped = ", ".join(plan.free_text) or "none"
        what = f"text as categories; free-text columns left out: {skipped}"
        lines.append(f"print({'Reading compactly to fit in memory: ' + what!r})")
    lines.append(f"df, notes = load_table(DATA, {fmt!r}, {load_options(info, plan, fixes)!r})")
    if fixes.strip_columns:
        lines.append("df.columns = [str(c).strip() for c in df.columns]")
    if announce and fixes.max_rows:
        lines.append(f"TOTAL = count_lines(DATA) - {info.skiprows + (0 if fmt == 'jsonl' else 1)}")
    return "\n".join(lines) + "\n"


def _load_body(info: DataFileInfo, plan: Plan, fixes: Fixes) -> str:
    total = ", total_rows=TOTAL" if fixes.max_rows else ""
    return f'roles = infer_roles(df, notes["converted"])\nreport_load(df, notes, roles, FACTS{total})\n'


def _columns(names: list[Any], fixes: Fixes, pairs: bool = False) -> str:
    """The list literal, or (careful retry) a filter keeping the columns the frame has."""
    if not fixes.careful:
        return repr(names)
    item = "m[0]" if pairs else "m"
    return f"[m for m in {names!r} if {item} in df.columns]"


def _measures_body(info: DataFileInfo, plan: Plan, fixes: Fixes) -> str:
    return f"report_measures(df, {_columns(plan.measures, fixes, pairs=True)}, FACTS)\n"


def _groups_body(info: DataFileInfo, plan: Plan, fixes: Fixes) -> str:
    groups, measures = _columns(plan.groups[:MAX_GROUPS], fixes), _columns(plan.measures, fixes, pairs=True)
    return f"report_groups(df, {groups}, {measures}, {plan.primary!r}, FACTS)\n"


def _trend_body(info: DataFileInfo, plan: Plan, fixes: Fixes) -> str:
    date = plan.date
    if plan.date_is_year:
        parse = f'dates = pd.to_numeric(df[{date!r}], errors="coerce")'
    else:
        column = "text" if fixes.local_dates else (f"df[{date!r}].astype(str)" if fixes.utc_dates else f"df[{date!r}]")
        options = ', errors="coerce"' + (", utc=True" if fixes.utc_dates else "")
        options += ", dayfirst=True" if plan.dayfirst else ""
        lines = ["with warnings.catch_warnings():", '    warnings.simplefilter("ignore")']
        if fixes.local_dates:
            lines.append(f"    text = df[{date!r}].astype(str).str.replace(r'{TZ_OFFSET_RE}', r'\\1', regex=True)")
        lines.append(f"    dates = pd.to_datetime({column}{options})")
        parse = "\n".join(lines)
    agg = plan.primary_agg if plan.primary else "count"
    return f"{parse}\nreport_trend(df, {date!r}, dates, {plan.primary!r}, {agg!r}, FACTS)\n"


BODIES = {"load": _load_body, "measures": _measures_body, "groups": _groups_body, "trend": _trend_body}
