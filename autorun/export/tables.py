"""The kernel's HTML tables (pandas' DataFrame HTML) made safe to put in a report page.

The HTML comes from the model's code, so it is untrusted: only table markup survives
(``table``, rows, header and data cells, their ``colspan``/``rowspan``); scripts and styles
go with their content, every other tag and every other attribute is dropped (nh3, the
Ammonia sanitiser).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from autorun.events import HtmlOutput

if TYPE_CHECKING:
    from markupsafe import Markup

TABLE_TAGS = {"table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"}
CELL_ATTRIBUTES = {"colspan", "rowspan"}


def safe_table(html: str) -> Markup | None:
    """The table markup of ``html`` and nothing else (as ``<table class="data">``), or None."""
    import nh3
    from markupsafe import Markup

    cleaned = nh3.clean(
        html,
        tags=TABLE_TAGS,
        attributes={"th": CELL_ATTRIBUTES, "td": CELL_ATTRIBUTES},
        clean_content_tags={"script", "style"},
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    ).strip()
    if not cleaned.startswith("<table>"):  # every attribute of the table itself was dropped
        return None
    return Markup('<table class="data">' + cleaned.removeprefix("<table>"))


@dataclass(frozen=True)
class OutputPart:
    """A piece of a block's output: plain text, or a (sanitised) table in place of its text form."""

    text: str
    table: Markup | None = None


def output_parts(output: str, displayed: tuple[HtmlOutput, ...]) -> list[OutputPart]:
    """``output`` split at the results the kernel also sent as HTML, each shown as its table.

    A result whose text is no longer in the output (cut short) or whose HTML holds no table
    stays text.
    """
    parts: list[OutputPart] = []
    rest = output
    for item in displayed:
        table = safe_table(item.html)
        at = rest.find(item.text) if table is not None and item.text.strip() else -1
        if at < 0:
            continue
        parts.append(OutputPart(rest[:at]))
        parts.append(OutputPart(item.text, table))
        rest = rest[at + len(item.text) :]
    parts.append(OutputPart(rest))
    return [part for part in parts if part.table is not None or part.text.strip()]
