"""Command-line options that several commands share, so each is declared and worded once."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

import typer

KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY

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


MaxTurnsOpt = Annotated[
    int | None, typer.Option("--max-turns", metavar="N", help="Most executor replies before a session stops.")
]


@dataclass(frozen=True)
class SessionOptions:
    """The options of every command that runs sessions (analyse, chat, eval): the model and where code runs.

    A command takes one ``session: SessionOptions`` parameter under :func:`with_session_options`,
    which spells it out as these options for Typer, so each is declared once and kept in this order.
    """

    model: ModelOpt = None
    base_url: BaseUrlOpt = None
    cache: CacheOpt = None
    timeout: TimeoutOpt = None
    docker: DockerOpt = None
    no_pull: NoPullOpt = False
    local: LocalOpt = False
    sandbox: SandboxOpt = False

    def flags(self, *, work_dir: Path | None, human_input_mode: str | None, no_exec: bool = False) -> dict[str, object]:
        """The config keys these options (and the command's own work dir, mode and --no-exec) ask for;
        None: not given."""
        return {
            "model.name": self.model,
            "model.base_url": self.base_url,
            "model.cache": self.cache,
            "executor.work_dir": str(work_dir) if work_dir is not None else None,
            "executor.timeout": self.timeout,
            "session.human_input_mode": human_input_mode,
            **self._executor_flags(no_exec),
        }

    def _executor_flags(self, no_exec: bool) -> dict[str, object]:
        docker, sandbox, local = self.docker, self.sandbox, self.local
        chosen = (("--docker", docker is not None), ("--sandbox", sandbox), ("--local", local), ("--no-exec", no_exec))
        given = [name for name, on in chosen if on]
        if len(given) > 1:
            raise typer.BadParameter(f"{' and '.join(given)} cannot be combined")
        kind = (
            "docker"
            if docker is not None
            else "sandbox"
            if sandbox
            else "local"
            if local
            else "none"
            if no_exec
            else None
        )
        return {"executor.type": kind, "executor.image": docker, "executor.pull": False if self.no_pull else None}


Command = TypeVar("Command", bound=Callable[..., None])


def with_session_options(command: Command) -> Command:
    """``command`` as Typer sees it: its ``session`` parameter replaced by :class:`SessionOptions`' options,
    which come back to it as one ``SessionOptions``."""
    signature = inspect.signature(command, eval_str=True)
    option_types = get_type_hints(SessionOptions, include_extras=True)
    names = [option.name for option in fields(SessionOptions)]
    shared = [
        inspect.Parameter(option.name, KEYWORD_ONLY, annotation=option_types[option.name], default=option.default)
        for option in fields(SessionOptions)
    ]
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        parameters += shared if parameter.name == "session" else [parameter.replace(kind=KEYWORD_ONLY)]

    @functools.wraps(command)
    def typer_command(**given: Any) -> None:
        session = SessionOptions(**{name: given.pop(name) for name in names})
        command(**given, session=session)

    typer_command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return typer_command  # type: ignore[return-value]


ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        metavar="ADDRESS",
        help="Run the sessions on the Dask cluster of this scheduler, e.g. tcp://scheduler:8786 (cluster.address).",
    ),
]
