"""`analyse`: one session on one data file, from the opening request to its end."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.events import Sink
from autorun.session.factory import open_session
from autorun.session.human_input import HumanInput
from autorun.session.origin import Origin
from autorun.session.values import SessionOutcome


@dataclass(frozen=True)
class AnalyseRequest:
    data_file: Path
    config: Config
    question: str | None = None
    sheet: str | None = None  # the workbook sheet to read (--sheet); default: the largest table
    answer_format: str | None = None  # --answer-format: the final message carries the answer so (autorun.answers)
    context_files: tuple[Path, ...] = ()  # --context: further files the code may read, not analysed


def analyse(
    request: AnalyseRequest,
    display: Sink,
    *,
    env: Mapping[str, str] | None = None,
    human: HumanInput | None = None,
    session_id: str | None = None,
    origin: Origin | None = None,
) -> SessionOutcome:
    """Run one analysis session on ``request.data_file``; every event goes to ``display`` and the transcript.

    Raises ConfigError (bad input file), ModelError or ExecutorError; the transcript is
    complete up to the failure in every case. ``origin`` says where the settings came from.
    """
    from autorun.answers import AnswerFormat
    from autorun.prompts import initial_user_message

    if request.question:
        require_llm(request.config, os.environ if env is None else env, "--question")
    answer_format = AnswerFormat(request.answer_format) if request.answer_format else None
    if answer_format is not None and not request.question:
        raise ConfigError("--answer-format needs --question: it says how the answer to that question is to be given")
    with open_session(
        request.config,
        [request.data_file],
        display,
        sheet=request.sheet,
        human=human,
        env=env,
        session_id=session_id,
        context_files=request.context_files,
        extract_answers=answer_format.extract if answer_format is not None else None,
        origin=origin,
    ) as opened:
        if answer_format is not None and request.question:
            opening = answer_format.request(request.question, request.config.session.termination_keyword)
        else:
            opening = initial_user_message(request.question, opened.data[0].seen_as)
        return opened.session.run(opening)


def require_llm(config: Config, env: Mapping[str, str], needed_by: str) -> None:
    """``needed_by`` (``--question``, ``autorun eval``) needs a model that reads the question: an LLM
    (or a replay of one), not the builtin analyst; ConfigError saying how to pick one otherwise."""
    from autorun.config.model_choice import ModelKind
    from autorun.session.components import uses_builtin

    if not uses_builtin(config, env):
        return
    why = (
        "the builtin analyst cannot answer questions (it runs its standard analysis)"
        if config.model.choice.kind is ModelKind.BUILTIN
        else f"${config.model.api_key_env} is not set, so model auto would be the builtin analyst, "
        "which cannot answer questions"
    )
    raise ConfigError(
        f"{needed_by} needs an LLM, and {why}: pick one with --model NAME "
        f"(and ${config.model.api_key_env}, or --base-url URL for a local server)"
    )


def require_file_argument(path: Path) -> Path:
    if str(path).startswith("-") and not path.exists():
        raise ConfigError(f"no such data file: {path} (to name a file starting with '-', write ./{path})")
    return path
