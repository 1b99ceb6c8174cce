"""Reports of a session from its transcript: a Jupyter notebook, one self-contained HTML page, Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from autorun.errors import ConfigError

if TYPE_CHECKING:
    from autorun.export.report import Report

FORMATS = {"ipynb": ".ipynb", "html": ".html", "md": ".md"}
_SUFFIXES = {".ipynb": "ipynb", ".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


def format_for(path: Path) -> str:
    """The report format named by ``path``'s extension; ConfigError for any other."""
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot tell the report format of {path}: name it .html, .ipynb or .md")
    return fmt


def default_output(transcript: Path, work_dir: Path, fmt: str) -> Path:
    """``<work dir>/<transcript name>.<ext>``: a notebook there runs as is, and Markdown finds its images.

    When the session's work dir is not on this machine, the current directory instead.
    """
    folder = work_dir if work_dir.is_dir() else Path.cwd()
    return folder / (Path(transcript).stem + FORMATS[fmt])


def render_report(report: Report, fmt: str, out: Path) -> str:
    """The text of the ``fmt`` report, as it is to be written at ``out``."""
    if fmt == "ipynb":
        from autorun.export.notebook import write_notebook

        return write_notebook(report)
    if fmt == "html":
        from autorun.export.html import to_html

        return to_html(report)
    if fmt == "md":
        from autorun.export.markdown import to_markdown

        return to_markdown(report, Path(out).resolve().parent)
    raise ConfigError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")


def export_transcript(transcript: Path, fmt: str | None = None, out: Path | None = None) -> Path:
    """Write the report of ``transcript``; the format comes from ``fmt`` or ``out``'s extension."""
    from autorun.export.report import load_report

    if fmt is None:
        if out is None:
            raise ConfigError("give --format ipynb|html|md, or an output path ending in one of them")
        fmt = format_for(out)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    report = load_report(transcript)
    out = out if out is not None else default_output(transcript, report.work_dir, fmt)
    text = render_report(report, fmt, out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report {out}: {exc.strerror or exc}; choose another -o PATH") from exc
    return out
