"""`analyse`: one session on one data file, from the opening request to its end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.events import Sink
from autorun.session.factory import open_session
from autorun.session.human_input import HumanInput
from autorun.session.loop import SessionOutcome
from autorun.session.origin import Origin


@dataclass(frozen=True)
class AnalyseRequest:
    data_file: Path
    config: Config
    question: str | None = None
    sheet: str | None = None  # the workbook sheet to read (--sheet); default: the largest table


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
    from autorun.prompts import initial_user_message

    with open_session(
        request.config,
        [request.data_file],
        display,
        sheet=request.sheet,
        human=human,
        env=env,
        session_id=session_id,
        origin=origin,
    ) as opened:
        if request.question and opened.model.name == "builtin":
            opened.notice("--question needs an LLM: the builtin analyst runs its standard analysis")
        return opened.session.run(initial_user_message(request.question, opened.data[0].seen_as))


def require_file_argument(path: Path) -> Path:
    if str(path).startswith("-") and not path.exists():
        raise ConfigError(f"no such data file: {path} (to name a file starting with '-', write ./{path})")
    return path
