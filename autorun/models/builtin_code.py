"""The pandas code the builtin analyst writes, one self-contained block per step.

Blocks run in a fresh process each, so every block reloads the file. They must run
unchanged on pandas 1.5 (Debian, in the Docker image) and pandas 3.x, print a human
table and, for the final summary, machine-readable ``AUTORUN_FACT`` lines.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from autorun.datafile import DataFileInfo, read_code

FACT_PREFIX = "AUTORUN_FACT"
TAG = "# autorun-builtin step={step} attempt={attempt}"
MAX_NUMERIC = 30
MAX_METRICS = 5
MAX_GROUPS = 4
ROW_LIMIT = 200_000
TZ_OFFSET_RE = r"(\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d\d:?\d\d)$"


@dataclass(frozen=True)
class Fixes:
    """Corrections learned from failed blocks; they apply to every later block."""

    encoding: str | None = None
    python_engine: bool = False
    resniff: bool = False
    lines: bool = False
    local_dates: bool = False
    utc_dates: bool = False
    coerce_numbers: bool = False
    strip_columns: bool = False
    engines: bool = False
    max_rows: int | None = None
    careful: bool = False

    def with_(self, **changes: object) -> Fixes:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Plan:
    """What the analysis covers, decided from the inspected sample."""

    numeric: list[str]
    metrics: list[str]
    primary: str | None
    groups: list[str]
    date: str | None
    dayfirst: bool = False


PREAMBLE = """import warnings

warnings.simplefilter("ignore", FutureWarning)
warnings.simplefilter("ignore", DeprecationWarning)

import pandas as pd

warnings.simplefilter("ignore", pd.errors.DtypeWarning)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)


FACTS = []


def fact(*parts):  # machine-readable figures, printed together at the end
    FACTS.append("\\t".join(["AUTORUN_FACT"] + [str(p).replace("\\t", " ").replace("\\n", " ") for p in parts]))


def fmt(value):
    return f"{value:,.2f}"

"""


EPILOGUE = """
print()
print("\\n".join(FACTS))
"""


def render(step: str, attempt: int, info: DataFileInfo, data_path: str, plan: Plan, fixes: Fixes) -> str:
    """The python block for one step of the plan."""
    body = {
        "load": _load_body,
        "describe": _describe_body,
        "groups": _groups_body,
        "months": _months_body,
    }[step](plan, fixes)
    tag = TAG.format(step=step, attempt=attempt)
    return f"{tag}\n{PREAMBLE}{_load_lines(info, data_path, plan, fixes)}\n{body}{EPILOGUE}"


def _reader_overrides(info: DataFileInfo, fixes: Fixes) -> dict[str, object]:
    overrides: dict[str, object] = {}
    if info.format in ("csv", "tsv"):
        if fixes.encoding:
            overrides["encoding"] = fixes.encoding
        if fixes.resniff:
            overrides.update(sep=None, engine="python", on_bad_lines="skip")
        elif fixes.python_engine:
            overrides.update(engine="python", on_bad_lines="skip")
    if info.format in ("json", "jsonl") and fixes.lines:
        overrides["lines"] = True
    if fixes.max_rows and info.format in ("csv", "tsv", "jsonl"):
        overrides["nrows"] = fixes.max_rows
    return overrides


def _load_lines(info: DataFileInfo, data_path: str, plan: Plan, fixes: Fixes) -> str:
    if fixes.engines and info.format in ("parquet", "excel"):
        lines = _engine_fallback(info, data_path)
    else:
        lines = [f"df = {read_code(info, data_path, _reader_overrides(info, fixes))}"]
    if fixes.max_rows and info.format not in ("csv", "tsv", "jsonl"):
        lines.append(f"df = df.head({fixes.max_rows})")
    if fixes.strip_columns:
        lines.append("df.columns = [str(c).strip() for c in df.columns]")
    else:
        lines.append("df.columns = [str(c) for c in df.columns]")
    if fixes.coerce_numbers and plan.numeric:
        lines += [
            f"for name in [c for c in {plan.numeric!r} if c in df.columns]:",
            '    df[name] = pd.to_numeric(df[name], errors="coerce")',
        ]
    return "\n".join(lines) + "\n"


def _engine_fallback(info: DataFileInfo, data_path: str) -> list[str]:
    if info.format == "parquet":
        reader, engines, hint = "read_parquet", ("pyarrow", "fastparquet"), "pip install pyarrow"
    elif info.path.suffix.lower() == ".xls":
        reader, engines, hint = "read_excel", ("xlrd", "calamine"), "pip install xlrd"
    else:
        reader, engines, hint = "read_excel", ("openpyxl", "calamine"), "pip install openpyxl"
    return [
        "df = None",
        f"for engine in {engines!r}:",
        "    try:",
        f"        df = pd.{reader}({data_path!r}, engine=engine)",
        "        break",
        "    except (ImportError, ValueError) as exc:",
        '        print(f"engine {engine} is not available: {exc}")',
        "if df is None:",
        f'    raise SystemExit("No engine to read this file where the code runs; install one ({hint}).")',
    ]


def _load_body(plan: Plan, fixes: Fixes) -> str:
    return """print(f"Loaded {len(df):,} rows x {df.shape[1]} columns")
print()
overview = pd.DataFrame(
    {"dtype": df.dtypes.astype(str), "non-null": df.notna().sum(), "missing": df.isna().sum()}
)
print("Columns, types and missing values:")
print(overview.to_string())
print()
print("First rows:")
print(df.head().to_string(max_colwidth=40))
fact("shape", "rows", len(df))
fact("shape", "columns", df.shape[1])
for name, count in df.isna().sum().items():
    if count:
        fact("missing", name, int(count))
"""


def _describe_body(plan: Plan, fixes: Fixes) -> str:
    head = f"NUMERIC = {plan.numeric[:MAX_NUMERIC]!r}\nnum = df[[c for c in NUMERIC if c in df.columns]]\n"
    if fixes.careful:
        head += 'num = num.apply(pd.to_numeric, errors="coerce")\n'
    return (
        head
        + """print("Summary statistics of the numeric columns:")
print(num.describe().T.to_string(float_format=fmt))
for name in num.columns:
    column = num[name]
    for stat in ("sum", "mean", "min", "max"):
        fact("stat", name, stat, float(getattr(column, stat)()))
"""
    )


def _groups_body(plan: Plan, fixes: Fixes) -> str:
    setup = f"GROUPS = {plan.groups[:MAX_GROUPS]!r}\nMETRICS = {plan.metrics!r}\nPRIMARY = {plan.primary!r}\n"
    if fixes.careful:
        setup += _CAREFUL_SETUP + "GROUPS = [g for g in GROUPS if g in df.columns]\n"
    return setup + (_GROUPS_LOOP if plan.metrics else _COUNTS_LOOP)


_CAREFUL_SETUP = """METRICS = [m for m in METRICS if m in df.columns]
if PRIMARY not in METRICS:
    PRIMARY = METRICS[0] if METRICS else None
"""

_COUNTS_LOOP = """for group in GROUPS:
    counts = df[group].value_counts(dropna=False)
    print(f"\\nRows per {group}:")
    print(counts.to_string())
    for key, count in counts.items():
        fact("count", group, key, int(count))
"""

_GROUPS_LOOP = """for group in GROUPS:
    extra = {"observed": True} if isinstance(df[group].dtype, pd.CategoricalDtype) else {}
    grouped = df.groupby(group, dropna=False, **extra)
    table = pd.DataFrame({"rows": grouped.size()})
    for metric in METRICS:
        table[metric + " total"] = grouped[metric].sum()
        table[metric + " mean"] = grouped[metric].mean()
    table = table.sort_values(PRIMARY + " total", ascending=False)
    print(f"\\nBy {group}, sorted by {PRIMARY} total:")
    print(table.to_string(float_format=fmt))
    for key, row in table.iterrows():
        for metric in METRICS:
            total, mean = float(row[metric + " total"]), float(row[metric + " mean"])
            fact("group", group, key, metric, total, mean, int(row["rows"]))
"""


def _months_body(plan: Plan, fixes: Fixes) -> str:
    column = "text" if fixes.local_dates else ("df[DATE].astype(str)" if fixes.utc_dates else "df[DATE]")
    options = ', errors="coerce"' + (", utc=True" if fixes.utc_dates else "")
    options += ", dayfirst=True" if plan.dayfirst else ""
    setup = f"DATE = {plan.date!r}\nMETRICS = {plan.metrics!r}\nPRIMARY = {plan.primary!r}\n"
    if fixes.careful:
        setup += _CAREFUL_SETUP
    lines = ["with warnings.catch_warnings():", '    warnings.simplefilter("ignore")']
    if fixes.local_dates:
        lines.append(f"    text = df[DATE].astype(str).str.replace(r'{TZ_OFFSET_RE}', r'\\1', regex=True)")
    lines += [
        f"    dates = pd.to_datetime({column}{options})",
        'month = dates.dt.strftime("%Y-%m").rename("month")',
        'print(f"{int(dates.notna().sum()):,} of {len(df):,} rows have a valid {DATE}")',
    ]
    return setup + "\n".join(lines) + "\n" + (_MONTH_TOTALS if plan.metrics else _MONTH_COUNTS)


_MONTH_TOTALS = """by_month = df.groupby(month)[METRICS].sum().sort_index()
if by_month.empty:
    print("No valid dates, so no monthly totals.")
else:
    print("\\nTotals by month:")
    print(by_month.to_string(float_format=fmt))
    for key, total in by_month[PRIMARY].items():
        fact("month", DATE, key, PRIMARY, float(total))
    top = by_month[PRIMARY].idxmax()
    top_total = float(by_month[PRIMARY].max())
    print(f"\\nTop month by {PRIMARY}: {top} with {top_total:,.2f}")
    fact("top_month", DATE, top, PRIMARY, top_total)
"""

_MONTH_COUNTS = """by_month = month.value_counts().sort_index()
if by_month.empty:
    print("No valid dates, so no monthly counts.")
else:
    print("\\nRows by month:")
    print(by_month.to_string())
    for key, count in by_month.items():
        fact("month", DATE, key, "rows", int(count))
    fact("top_month", DATE, by_month.idxmax(), "rows", int(by_month.max()))
"""
