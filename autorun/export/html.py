"""A transcript as one self-contained HTML page: no external request of any kind.

The page reads like a report, not a log: the findings first, each bullet with its chart
beside it; then how they were worked out (each step's prose and output, tables as tables,
the code folded); the session's details last.

Styles are inline (one ``<style>`` element, Pygments' rules included), images are
``data:`` URIs, and the page has no script (its Content-Security-Policy forbids any).
The template autoescapes everything; the only markup not escaped by it is what Pygments
and markdown-it produce, which both escape their input (markdown-it runs with raw HTML
off and links and images disabled, so the model's text can neither inject markup nor
make the browser fetch anything), and the kernel's tables, which pass nh3 keeping table
markup only (``export.tables``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from autorun.export.findings import attach_charts, split_findings
from autorun.export.images import Image, block_images
from autorun.export.report import BlockRun, Prose, Report
from autorun.export.tables import OutputPart, output_parts
from autorun.render.common import safe
from autorun.units import human_size

LEXERS = {"python": "python", "sh": "bash"}
TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class HtmlBlock:
    block: BlockRun
    code_html: Any  # markupsafe.Markup from Pygments
    output: list[OutputPart]  # the output, with the kernel's tables in place of their text
    images: list[tuple[Image, str]]  # (image, data URI or ""), in the order the text names them


def _markdown_renderer() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "link", "autolink", "html_inline", "html_block"])
    return md


def _highlighter() -> tuple[Any, str]:
    from pygments.formatters import HtmlFormatter

    formatter = HtmlFormatter(cssclass="highlight", style="default")
    return formatter, formatter.get_style_defs(".highlight")


def _highlight(code: str, language: str, formatter: Any) -> Any:
    from markupsafe import Markup
    from pygments import highlight
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(LEXERS.get(language, language))
    except ClassNotFound:
        lexer = TextLexer()
    return Markup(highlight(safe(code).rstrip("\n"), lexer, formatter))


def _data_uri(image: Image) -> str:
    if image.data is None:
        return ""
    return f"data:{image.artifact.media_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def _when(iso: str) -> str:
    """``2026-12-01T22:35:22+00:00`` as ``2026-12-01 22:35``, for the page's byline."""
    from datetime import datetime

    try:
        return f"{datetime.fromisoformat(iso):%Y-%m-%d %H:%M}"
    except ValueError:
        return ""


def to_html(report: Report) -> str:
    """The whole page as a string: the findings and their charts first, then how they were worked
    out (code folded), then the session's details."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=PackageLoader("autorun.export", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    md = _markdown_renderer()
    formatter, pygments_css = _highlighter()

    def markdown(text: str) -> Markup:
        return Markup(md.render(safe(text)))

    items: list[Prose | HtmlBlock] = []
    charts: list[tuple[Image, str]] = []
    for item in report.items:
        if isinstance(item, Prose):
            if not (item.role == "assistant" and item.text.strip() == report.final_answer):
                items.append(item)  # the final answer is the page's top, not repeated below
            continue
        images = [(image, _data_uri(image)) for image in block_images(report.work_dir, item, report.snapshots)]
        charts += [(image, uri) for image, uri in images if uri]
        code = _highlight(item.code, item.language, formatter)
        items.append(HtmlBlock(item, code, output_parts(item.output, item.html), images))
    findings = split_findings(report.final_answer, md)
    uris = {id(image): uri for image, uri in charts}
    more = attach_charts(findings, [image for image, _ in charts])
    return env.get_template(TEMPLATE).render(
        summary=report.summary,
        title=report.summary.rows()[0][1],
        started=_when(report.summary.started_at),
        rows=[(label, safe(value)) for label, value in report.summary.rows()],
        ok=report.summary.exit_code == 0,
        findings=findings,
        more_charts=[(image, uris[id(image)]) for image in more],
        uri_of=lambda image: uris.get(id(image), ""),
        items=items,
        markdown=markdown,
        safe_text=safe,
        pygments_css=Markup(pygments_css),
        is_prose=lambda item: isinstance(item, Prose),
        human_size=human_size,
    )
