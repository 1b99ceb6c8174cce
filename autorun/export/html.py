"""A transcript as one self-contained HTML page: no external request of any kind.

Styles are inline (one ``<style>`` element, Pygments' rules included), images are
``data:`` URIs, and the page has no script. The template autoescapes everything;
the only markup not escaped by it is what Pygments and markdown-it produce, and
both escape their input: markdown-it runs with raw HTML off and with links and
images disabled, so the model's text can neither inject markup nor make the
browser fetch anything (a link's target is shown as text, as in the terminal).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from autorun.export.images import Image, block_images
from autorun.export.report import BlockRun, Prose, Report
from autorun.render.common import safe
from autorun.units import human_size

LEXERS = {"python": "python", "sh": "bash"}
TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class HtmlBlock:
    block: BlockRun
    code_html: Any  # markupsafe.Markup from Pygments
    images: list[tuple[Image, str]]  # (image, data URI or "")


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


def to_html(report: Report) -> str:
    """The whole page as a string."""
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
    for item in report.items:
        if isinstance(item, Prose):
            items.append(item)
        else:
            images = [(image, _data_uri(image)) for image in block_images(report.work_dir, item)]
            items.append(HtmlBlock(item, _highlight(item.code, item.language, formatter), images))
    return env.get_template(TEMPLATE).render(
        summary=report.summary,
        rows=[(label, safe(value)) for label, value in report.summary.rows()],
        final_answer=markdown(report.final_answer) if report.final_answer else "",
        items=items,
        markdown=markdown,
        safe_text=safe,
        pygments_css=Markup(pygments_css),
        is_prose=lambda item: isinstance(item, Prose),
        human_size=human_size,
    )
