"""The values a session is run with and reports: its settings, its running counts, its outcome."""

from __future__ import annotations

from dataclasses import dataclass

from autorun.config.schema import Config


@dataclass(frozen=True)
class SessionSettings:
    """The config values the session loop reads; their defaults are the config schema's."""

    last_n_messages: int
    max_consecutive_auto_reply: int
    termination_keyword: str
    output_limit: int

    @classmethod
    def from_config(cls, config: Config) -> SessionSettings:
        return cls(
            last_n_messages=config.executor.last_n_messages,
            max_consecutive_auto_reply=config.session.max_consecutive_auto_reply,
            termination_keyword=config.session.termination_keyword,
            output_limit=config.executor.output_limit,
        )


@dataclass
class SessionStats:
    turns: int = 0
    blocks_run: int = 0
    blocks_ok: int = 0
    blocks_failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_known: bool = False
    last_exit_code: int | None = None

    def usage(self) -> dict[str, int] | None:
        if not self.usage_known:
            return None
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass(frozen=True)
class SessionOutcome:
    status: str
    exit_code: int
    reason: str
    final_message: str
    stats: SessionStats
