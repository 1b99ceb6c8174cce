"""The values a session is run with and reports: its settings, its running counts, its outcome."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionSettings:
    last_n_messages: int = 3
    max_consecutive_auto_reply: int = 10
    termination_keyword: str = "TERMINATE"
    output_limit: int = 32_000


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
