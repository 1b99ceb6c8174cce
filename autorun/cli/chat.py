"""The interactive commands: `autorun chat` and `autorun replay`."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from autorun.cli.app import app, guarded, load
from autorun.cli.options import ConfigOpt, DebugOpt, SessionOptions, SheetOpt, WorkDirOpt, with_session_options
from autorun.cli.sessions import SessionsArg, SessionsWorkDirOpt, transcripts_named

HUMAN_INPUT_MODES = ("ALWAYS", "TERMINATE", "NEVER")


@app.command(short_help="Chat about data files; code runs once you agree.")
@with_session_options
def chat(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILE",
            help="Data files to talk about (CSV, TSV, JSON, JSONL, Parquet, Excel); code reads them.",
            readable=False,
            hidden=True,  # described in the text above the options
        ),
    ] = None,
    *,
    session: SessionOptions,
    config: ConfigOpt = None,
    work_dir: WorkDirOpt = None,
    sheet: SheetOpt = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="SESSION",
            help="Continue an earlier session (its id or start, or a transcript path) with its history and settings.",
        ),
    ] = None,
    human_input_mode: Annotated[
        str | None,
        typer.Option(
            "--human-input-mode",
            metavar="ALWAYS|TERMINATE|NEVER",
            help="ALWAYS (default here): ask before each block runs; TERMINATE, NEVER: run without asking.",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Chat with the analyst about FILE(s): you ask, it writes code, the code runs once you agree.

    Type a request and press Enter; the Up and Down keys recall earlier requests
    (history in $XDG_STATE_HOME/autorun/history, by default ~/.local/state/autorun/history).
    Several lines: end a line with a backslash (\\) and go on typing on the next one.
    A multi-line paste is taken whole (bracketed paste, which most terminals support) and sent on Enter.

    Before a block runs you are asked: Run it? [Y]es / [n]o / [e]dit / or type a reply.
    Enter or y runs it; e opens it in $VISUAL or $EDITOR (line by line in the terminal when
    neither is set); n or Ctrl-C runs nothing and brings back your prompt, to say why or what
    to do instead; anything else is sent to the assistant instead of running the code.
    With --human-input-mode TERMINATE or NEVER code runs without asking (the session header
    says so, and which setting chose it), and the chat prompt comes back when the assistant is done.

    /exit or Ctrl-D ends the chat. Ctrl-C while a block runs stops it (the assistant sees
    exit code 130) and the chat goes on; Ctrl-C at the prompt asks whether to quit.

    --resume SESSION continues an earlier chat or analysis (an id from `autorun sessions`,
    or its first characters) with its messages (its code is not run again), and with its
    model, endpoint, config file, work dir, executor and data file; an option or AUTORUN_*
    variable given now wins, with a warning saying what differs. Of a transcript that is not
    in autorun's record (a file from elsewhere could be forged) only the messages are used.
    Every chat is recorded in autorun's state dir, out of the code's reach, and ends with the
    command that continues it. The builtin offline analyst (--model builtin) analyses the
    first FILE, so it needs one.

    Exit codes: 0 chat ended, 2 usage/config/input error, 4 executor error, 130 quit with Ctrl-C.

    Examples:

    \b
      autorun chat sales.csv
      autorun chat sales.csv --model gpt-4o-mini --docker autorun-runtime:1
      autorun chat --resume fec8
    """
    mode = _human_input_mode(human_input_mode)
    flags = session.flags(work_dir=work_dir, human_input_mode=mode)

    def run() -> int:
        from autorun.chat import run_chat
        from autorun.render.sinks import make_renderer
        from autorun.session.origin import session_origin
        from autorun.session.terminal import ChatHuman, Terminal, history_file
        from autorun.transcripts.resume import plan_resume

        plan = plan_resume(resume, flags, config, os.environ) if resume is not None else None
        loaded = load(plan.config_file, plan.flags) if plan is not None else load(config, flags)
        settings = loaded.config.model_copy(deep=True)
        settings.session.human_input_mode, origin = session_origin(loaded, "chat")
        terminal = Terminal(history=history_file(os.environ))
        human = ChatHuman(settings.session.human_input_mode, terminal)
        display = make_renderer("auto", stdout=sys.stdout, stderr=sys.stderr, env=os.environ)
        try:
            outcome = run_chat(
                settings,
                files or [],
                display=display,
                human=human,
                resume=plan,
                sheet=sheet,
                origin=origin,
            )
        finally:
            display.close()
            terminal.close()
        return outcome.exit_code

    raise typer.Exit(guarded(debug, run))


def _human_input_mode(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in HUMAN_INPUT_MODES:
        raise typer.BadParameter(f"must be one of {', '.join(HUMAN_INPUT_MODES)}, got {value!r}")
    return value.upper()


@app.command(short_help="Show a recorded session again; nothing runs.")
def replay(
    sessions: SessionsArg = None,
    work_dir: SessionsWorkDirOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show a recorded session as it looked: messages, code, output and summary. Nothing is run.

    SESSION is a session id (or its first characters, as `autorun sessions` shows them) or a
    transcript path; with none, the newest session of the work dir; several are shown in turn.

    Examples:

    \b
      autorun replay
      autorun replay fec8 | less -R
    """
    from autorun.render.sinks import make_renderer
    from autorun.transcripts.replay import show_transcript

    paths = guarded(debug, lambda: transcripts_named(sessions, config, work_dir))
    display = make_renderer("auto", stdout=sys.stdout, stderr=sys.stderr, env=os.environ)
    try:
        for path in paths:
            guarded(debug, functools.partial(show_transcript, path, display))
    finally:
        display.close()
