"""Retry policy for model calls (the signals a retried stream sends live in models.base).

Pure functions and values only: no I/O, so the policy is tested without a network.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from autorun.models.base import RESTART, PartialReplyError, ReplyRestart

__all__ = ["RESTART", "PartialReplyError", "ReplyRestart", "RetryPolicy"]

RETRYABLE_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def backoff_delay(
    retry: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``retry`` (1-based).

    A server's Retry-After wins (capped at ``max_retry_after``); otherwise exponential
    backoff ``base * 2**(retry-1)`` capped at ``max_delay``, with jitter scaling it by
    a factor in [0.5, 1.0) so that clients retrying together spread out.
    """
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, policy.max_retry_after)
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (retry - 1))
    return ceiling * (0.5 + rand() / 2)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), or None."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            seconds: float | None = float(raw) / divisor
        except ValueError:
            seconds = _seconds_until_http_date(raw, now)
        if seconds is not None and seconds >= 0 and seconds == seconds:  # not NaN
            return seconds
    return None


def _seconds_until_http_date(raw: str, now: float | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
