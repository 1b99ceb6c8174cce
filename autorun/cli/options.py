"""Command-line options that several commands share, so each is declared and worded once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="PATH", help="YAML config file (default: ./autorun.yaml if present)."),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", metavar="NAME", help="auto, builtin, replay:TRANSCRIPT or a model name.")
]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", metavar="URL", help="OpenAI-compatible endpoint URL.")]
CacheOpt = Annotated[bool | None, typer.Option("--cache/--no-cache", help="Reuse cached model replies (model.cache).")]
WorkDirOpt = Annotated[Path | None, typer.Option("--work-dir", metavar="DIR", help="Where code runs and its files go.")]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", metavar="SECONDS", help="Seconds before a block is killed.")
]
DockerOpt = Annotated[
    str | None,
    typer.Option("--docker", metavar="IMAGE", help="Run code in a locked-down Docker container of IMAGE."),
]
NoPullOpt = Annotated[bool, typer.Option("--no-pull", help="Never pull a missing Docker image.")]
LocalOpt = Annotated[
    bool, typer.Option("--local", help="Run code in a local subprocess (no sandbox: it can read your files).")
]
SandboxOpt = Annotated[
    bool,
    typer.Option("--sandbox", help="Run code in the bwrap sandbox (the default where bubblewrap works)."),
]
SheetOpt = Annotated[
    str | None,
    typer.Option("--sheet", metavar="NAME", help="The workbook sheet to analyse (default: the largest table)."),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", metavar="PATH", help="Also write a report: .html, .ipynb or .md (from the extension)."),
]
TranscriptArg = Annotated[
    Path,
    typer.Argument(
        metavar="TRANSCRIPT",
        help="A session transcript (.jsonl); the summary names it (autorun's state dir, "
        "~/.local/state/autorun/workdirs/*/sessions/).",
        readable=False,
        hidden=True,
    ),
]


def executor_flags(
    local: bool, no_exec: bool, docker: str | None, no_pull: bool, sandbox: bool = False
) -> dict[str, object]:
    """The executor settings the --docker / --sandbox / --local / --no-exec / --no-pull flags ask for."""
    flags = (("--docker", docker is not None), ("--sandbox", sandbox), ("--local", local), ("--no-exec", no_exec))
    given = [name for name, on in flags if on]
    if len(given) > 1:
        raise typer.BadParameter(f"{' and '.join(given)} cannot be combined")
    kind = (
        "docker" if docker is not None else "sandbox" if sandbox else "local" if local else "none" if no_exec else None
    )
    return {"executor.type": kind, "executor.image": docker, "executor.pull": False if no_pull else None}


def session_flags(
    *,
    model: str | None,
    base_url: str | None,
    cache: bool | None,
    work_dir: Path | None,
    timeout: float | None,
    human_input_mode: str | None,
    executor: dict[str, object],
) -> dict[str, object]:
    """The config keys that the options every session command shares ask for (None: not given)."""
    return {
        "model.name": model,
        "model.base_url": base_url,
        "model.cache": cache,
        "executor.work_dir": str(work_dir) if work_dir is not None else None,
        "executor.timeout": timeout,
        "session.human_input_mode": human_input_mode,
        **executor,
    }
