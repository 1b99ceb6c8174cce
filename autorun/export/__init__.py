"""Reports of a session from its transcript: a Jupyter notebook, one self-contained HTML page, Markdown."""

from __future__ import annotations

import os
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
    write_report(out, render_report(report, fmt, out))
    return out


def write_report(out: Path, text: str) -> None:
    """Write ``text`` to ``out``, never through a symlink, a FIFO or a device someone planted there.

    A report often goes into a work dir (the default place, and a batch's ``--report``), where code
    of the session can plant ``report.html -> ~/.bashrc``; a plain write would follow it.
    """
    import errno
    import stat

    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, flags, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            raise ConfigError(
                f"{out} is a symlink or a pipe, and autorun does not write a report through it "
                "(code run in a session may have planted it); remove it or choose another -o PATH"
            ) from None
        raise ConfigError(f"cannot write the report {out}: {exc.strerror or exc}; choose another -o PATH") from exc
    with os.fdopen(fd, "wb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{out} is not a regular file; remove it or choose another -o PATH")
        file.truncate(0)
        file.write(text.encode("utf-8"))
