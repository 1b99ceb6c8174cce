"""What `model.name` chooses, parsed in this one place: auto, the builtin analyst, a replay or an LLM.

Every other module asks the parsed value (``config.model.choice``, or ``resolved_choice(env)`` once
``auto`` is decided) and never tests the spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

REPLAY_PREFIX = "replay:"


class ModelKind(Enum):
    AUTO = "auto"  # the LLM auto_model when the API-key variable is set, else the builtin
    BUILTIN = "builtin"  # the offline analyst
    REPLAY = "replay"  # the replies of a recorded transcript, again
    LLM = "llm"  # a model of the OpenAI-compatible endpoint, by name


@dataclass(frozen=True)
class ModelChoice:
    kind: ModelKind
    value: str = ""  # LLM: the model's name at the endpoint; REPLAY: the transcript's path as written

    @classmethod
    def parse(cls, name: str) -> ModelChoice:
        """``auto``, ``builtin``, ``replay:PATH``; any other name is an LLM of the endpoint."""
        if name in (ModelKind.AUTO.value, ModelKind.BUILTIN.value):
            return cls(ModelKind(name))
        if name.startswith(REPLAY_PREFIX):
            return cls(ModelKind.REPLAY, name.removeprefix(REPLAY_PREFIX))
        return cls(ModelKind.LLM, name)

    @property
    def transcript(self) -> Path:
        """The transcript a replay runs again (its ``~`` expanded)."""
        if self.kind is not ModelKind.REPLAY:
            raise ValueError(f"a {self.kind.value} model replays no transcript")
        return Path(self.value).expanduser()
