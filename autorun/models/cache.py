"""A response cache (AutoGen's cache_seed idea): complete replies in SQLite, keyed by request."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.models.base import Message, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    content TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    created REAL NOT NULL
)
"""


def default_cache_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/autorun/replies.sqlite``, or ``~/.cache/autorun/replies.sqlite``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "autorun" / "replies.sqlite"


def cache_key(model: str, messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """A stable hash of everything that shapes a reply: model, messages and parameters."""
    payload = {
        "model": model,
        "messages": [[m.role, m.content, m.name] for m in messages],
        "params": dict(params),
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def chunk_text(text: str) -> list[str]:
    """Split text into word-sized chunks that join back to exactly ``text``."""
    return re.findall(r"\S+\s*|\s+", text)


@dataclass(frozen=True)
class CachedReply:
    content: str
    usage: Usage | None


class ReplyCache:
    """Complete replies by key. Opens the database per call, so it is safe across threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            with conn:
                conn.execute(_SCHEMA)
                yield conn
        finally:
            conn.close()

    def get(self, key: str) -> CachedReply | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT content, prompt_tokens, completion_tokens FROM replies WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        content, prompt, completion = row
        usage = Usage(prompt, completion) if prompt is not None and completion is not None else None
        return CachedReply(content, usage)

    def put(self, key: str, model: str, content: str, usage: Usage | None) -> None:
        prompt = usage.prompt_tokens if usage else None
        completion = usage.completion_tokens if usage else None
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, content, prompt, completion, time.time()),
            )

    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0])
