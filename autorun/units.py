"""Sizes and durations as users write them and as autorun prints them."""

from __future__ import annotations

import re

_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(value: str | int) -> int:
    """Docker-style sizes: 1g, 512m, 64MiB, 1073741824 -> bytes."""
    if isinstance(value, int):
        size = 0 if isinstance(value, bool) else value
    else:
        match = _SIZE_RE.fullmatch(value.strip())
        size = int(float(match.group(1)) * _UNITS[match.group(2).lower()]) if match else 0
    if size <= 0:
        raise ValueError("must be a size such as 512m or 1g")
    return size


def human_size(size: int) -> str:
    """1073741824 -> "1 GiB", 67108864 -> "64 MiB"."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size} B"


def format_seconds(seconds: float) -> str:
    """60.0 -> "60", 0.5 -> "0.5"."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
