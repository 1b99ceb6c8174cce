"""Column roles: what each column of a table is, and how it may be aggregated.

This module runs in two places: in autorun's process on the inspected sample (for the
LLM's data description), and inside the executor on the loaded data, where the builtin
analyst's blocks import it from autorun's package. So it imports nothing above ``analyst``
(what date text looks like is ``kinds``'), pandas only inside the functions, and its code
runs unchanged on pandas 1.5 and 3.x.

Roles and their aggregation:
  identifier  unique per row, a counter, an id/index/number name   never aggregated
  category    few distinct values (text, integer codes)             rows and shares
  flag        two values: bool, 0/1, yes/no                         share of rows
  date        datetimes, parseable strings, year columns            periods
  coordinate  latitude/longitude by name and range                  never aggregated
  text        long, mostly distinct strings                         never aggregated
  additive    amounts, counts, revenue, units, volume ...           sum (and mean)
  measure     prices, rates, ages, scores, sizes ... (non-additive) mean, or median when skewed
  constant    one value only; empty: no values at all               reported, not used
When the name gives no evidence, a number is treated as a non-additive measure.
"""

import re
from typing import Any

from autorun.analyst.kinds import DATE_RE

ADDITIVE_WORDS = (
    "amount", "revenue", "revenues", "sales", "sale", "turnover", "income", "profit", "profits", "cost",
    "costs", "spend", "spent", "expense", "expenses", "total", "count", "counts", "cnt", "units", "unit_sold",
    "quantity", "qty", "volume", "population", "pop", "precipitation", "precip", "rain", "rainfall", "snow",
    "snowfall", "sold", "orders", "visits", "clicks", "views", "casual", "registered", "bookings", "deaths",
    "cases", "births", "items", "umsatz", "menge", "betrag", "kosten", "gewinn", "payment", "payments",
    "tax", "discount", "budget", "gross", "net", "earnings", "donations", "downloads", "trips", "passengers",
)  # fmt: skip
MEASURE_WORDS = (
    "price", "prices", "rate", "rates", "ratio", "pct", "percent", "percentage", "share", "margin", "avg",
    "average", "mean", "median", "temp", "temperature", "atemp", "humidity", "hum", "windspeed", "wind",
    "pressure", "age", "score", "scores", "rating", "ratings", "rank", "grade", "length", "width", "height",
    "depth", "weight", "mass", "size", "bmi", "open", "close", "high", "low", "adj", "level", "speed",
    "density", "per", "fare", "salary", "wage", "index", "gdp", "expectancy", "happiness", "duration",
    "distance", "latency", "elevation", "altitude", "dew", "visibility", "cloud", "uv", "ph", "preis",
)  # fmt: skip
ID_WORDS = ("id", "ids", "uuid", "guid", "idx", "key", "pk")
ID_NAMES = ("index", "no", "nr", "num", "number", "instant", "row", "rownum", "row_number", "record", "serial")
ID_LAST = ("id", "number", "no", "nr", "num", "code", "key")
YEAR_WORDS = ("year", "yr", "jahr", "fy")
TIME_PART_WORDS = (
    "month", "mnth", "mon", "day", "dow", "weekday", "hour", "hr", "minute", "week", "quarter", "qtr", "season",
)  # fmt: skip
LAT_WORDS = ("lat", "latitude")
LON_WORDS = ("lon", "lng", "long", "longitude")
FLAG_TEXT = {"yes", "no", "y", "n", "true", "false", "t", "f"}
MAX_CODES = 12
MAX_CATEGORIES = 50
SKEWED = 1.0


def name_tokens(name: object) -> list[str]:
    """'PassengerId' -> ['passenger', 'id']; 'Adj Close' -> ['adj', 'close']; 'body_mass_g' -> [..., 'g']."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [t for t in re.split(r"[^A-Za-z0-9%]+", spaced.lower()) if t]


def _has(tokens: list[str], words: Any) -> str | None:
    return next((t for t in tokens if t in words), None)


def _role(column: object, role: str, agg: str, why: str) -> dict[str, Any]:
    return {"column": str(column), "role": role, "agg": agg, "why": why}


def infer_roles(
    df: Any, units: dict[str, str] | None = None, profiles: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """One dict per column: column, role, agg (sum | mean | median | count | share | period | none), why, distinct.

    ``units`` maps columns converted from text to what they were written as ("percent", "money").
    ``profiles`` gives each column's counts over the whole data (``profile_of`` keys) when ``df`` is
    only a sample of it: the counts decide, the sample shows what the values look like.
    """
    units = units or {}
    roles = []
    for name in df.columns:
        profile = (profiles or {}).get(str(name)) or profile_of(df[name], len(df))
        role = _infer_one(df[name], name, profile, units.get(str(name)))
        role["distinct"] = int(profile["distinct"]) if profile["distinct"] >= 0 else int(profile["rows"])
        roles.append(role)
    return roles


def profile_of(series: Any, n_rows: int) -> dict[str, Any]:
    """A column's counts as ``infer_roles`` uses them: rows, non-empty values, distinct values, and for
    numbers min, max, whether all are whole and the skew; computed here from the values themselves."""
    import pandas as pd

    values = series.dropna()
    try:
        distinct = int(values.nunique())
    except TypeError:  # unhashable cells (nested JSON lists)
        distinct = -1
    profile: dict[str, Any] = {"rows": n_rows, "non_null": len(values), "distinct": distinct}
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric and len(values):
        skew = float(values.astype(float).skew()) if len(values) >= 10 else None
        profile.update(min=float(values.min()), max=float(values.max()), skew=skew)
        profile["integral"] = bool((values == values.round()).all())
    return profile


def _infer_one(series: Any, name: object, profile: dict[str, Any], unit: str | None) -> dict[str, Any]:
    import pandas as pd

    tokens = name_tokens(name)
    values = series.dropna()
    if profile["non_null"] == 0 or len(values) == 0:
        return _role(name, "empty", "none", "no values")
    if profile["distinct"] < 0:
        return _role(name, "text", "none", "nested values")
    if profile["distinct"] == 1:
        return _role(name, "constant", "none", f"one value only ({values.iloc[0]!r})")
    if pd.api.types.is_bool_dtype(series):
        return _role(name, "flag", "share", "true/false values")
    if pd.api.types.is_datetime64_any_dtype(series):
        return _role(name, "date", "period", "date/time values")
    if pd.api.types.is_numeric_dtype(series):
        return _numeric_role(values, name, tokens, profile, unit)
    return _text_role(values, name, tokens, profile)


def _numeric_role(
    values: Any, name: object, tokens: list[str], profile: dict[str, Any], unit: str | None
) -> dict[str, Any]:
    integral, distinct, n = bool(profile["integral"]), int(profile["distinct"]), int(profile["non_null"])
    low, high = float(profile["min"]), float(profile["max"])
    word = _has(tokens, YEAR_WORDS)
    if word and integral and low >= 1000 and high <= 2200:
        return _role(name, "date", "period", f"year values named {word!r}")
    if distinct == 2 and low == 0 and high == 1:
        return _role(name, "flag", "share", "0/1 values")
    additive, measure = _has(tokens, ADDITIVE_WORDS), _has(tokens, MEASURE_WORDS)
    counted = not additive and not measure
    if counted and integral and distinct == n >= 5 and high - low == n - 1 and values.is_monotonic_increasing:
        steps = values.diff().dropna()
        if bool((steps == 1).all()):
            return _role(name, "identifier", "none", "a row counter (consecutive values)")
    id_word = _id_word(tokens, name)
    if id_word and integral and distinct > 0.5 * n:
        return _role(name, "identifier", "none", f"named {id_word!r}, {distinct:,} distinct values")
    lat, lon = _has(tokens, LAT_WORDS), _has(tokens, LON_WORDS)
    if (lat and low >= -90 and high <= 90) or (lon and low >= -180 and high <= 180 and not integral):
        return _role(name, "coordinate", "none", f"named {lat or lon!r}, values in range")
    part = _has(tokens, TIME_PART_WORDS)
    if part and integral and not additive and not measure:
        return _role(name, "category", "count", f"a time-part code named {part!r}")
    if id_word and integral and not additive and not measure:
        return _role(name, "category", "count", f"codes named {id_word!r}")
    if unit and unit.startswith("percent"):
        return _measure(profile, name, "written as percentages")
    if "%" in tokens or "%" in str(name):
        return _measure(profile, name, "a percentage by name")
    if measure and not (additive and tokens.index(additive) > tokens.index(measure)):
        return _measure(profile, name, f"named {measure!r}: not additive")
    if additive:
        return _role(name, "additive", "sum", f"named {additive!r}: adds up")
    if integral and distinct <= MAX_CODES and n >= 2 * distinct:
        return _role(name, "category", "count", f"integer codes ({distinct} distinct values)")
    return _measure(profile, name, "no name evidence: treated as non-additive")


def _id_word(tokens: list[str], name: object) -> str | None:
    if str(name).strip().lower().startswith("unnamed"):
        return "Unnamed"
    if "_".join(tokens) in ID_NAMES or "".join(tokens) in ID_NAMES:
        return str(name)
    found = _has(tokens, ID_WORDS)
    if found:
        return found
    return tokens[-1] if tokens and tokens[-1] in ID_LAST else None


def _measure(profile: dict[str, Any], name: object, why: str) -> dict[str, Any]:
    skew = profile.get("skew")
    if profile["non_null"] >= 10 and skew is not None and skew == skew and abs(skew) > SKEWED:
        return _role(name, "measure", "median", f"{why}; skewed (skew {skew:.1f}): median")
    return _role(name, "measure", "mean", why)


def _text_role(values: Any, name: object, tokens: list[str], profile: dict[str, Any]) -> dict[str, Any]:
    distinct, n = int(profile["distinct"]), int(profile["non_null"])
    lowered = {str(v).strip().lower() for v in values.unique().tolist()[:3]}
    if distinct == 2 and lowered <= FLAG_TEXT:
        return _role(name, "flag", "share", "yes/no values")
    if _date_text(values):
        return _role(name, "date", "period", "dates written as text")
    id_word = _id_word(tokens, name)
    if distinct <= MAX_CATEGORIES and (distinct <= 0.5 * n or n <= 4):
        return _role(name, "category", "count", f"{distinct} distinct values")
    if id_word and distinct > 0.5 * n:
        return _role(name, "identifier", "none", f"named {id_word!r}, {distinct:,} distinct values")
    text = values.astype(str)
    if float(text.str.len().mean()) >= 20 or float(text.str.count(" ").mean()) >= 2:
        return _role(name, "text", "none", "long, mostly distinct strings")
    if distinct >= 0.9 * n:
        return _role(name, "identifier", "none", "short strings, unique per row")
    return _role(name, "category", "count", f"many distinct values ({distinct:,})")


def _date_text(values: Any) -> bool:
    import warnings

    import pandas as pd

    sample = [v for v in values.head(200).tolist() if isinstance(v, str) and v.strip()]
    if not sample or sum(1 for v in sample if DATE_RE.match(v)) < 0.8 * len(sample):
        return False
    for dayfirst in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(pd.Series(sample), errors="coerce", utc=True, dayfirst=dayfirst)
            except (ValueError, TypeError, OverflowError):
                continue
        if parsed.notna().mean() >= 0.8:
            return True
    return False


PRIMARY_ORDER = (
    ("revenue", "revenues", "sales", "turnover", "umsatz", "amount", "betrag", "income", "payment", "payments"),
    ("profit", "profits", "earnings", "gross", "net", "gewinn"),
    ("units", "quantity", "qty", "menge", "volume", "count", "counts", "cnt", "sold", "orders"),
    ("price", "prices", "preis", "fare", "salary"),
    ("mass", "weight"),
    ("score", "rating", "happiness"),
)


def primary_measure(roles: list[dict[str, Any]]) -> str | None:
    """The main measure by role and name: revenue over units over any other additive, then non-additive."""
    measures = [r for r in roles if r["role"] in ("additive", "measure")]
    for words in PRIMARY_ORDER:
        for role in ("additive", "measure"):
            for r in measures:
                if r["role"] == role and _has(name_tokens(r["column"]), words):
                    return r["column"]
    for role in ("additive", "measure"):
        for r in measures:
            if r["role"] == role:
                return r["column"]
    return None
