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


class ByteSize(int):
    """A number of bytes that remembers how the user wrote it: ``ByteSize.parse("1g") == 1073741824``
    and ``str()`` of it is ``"1g"``, so config holds bytes while messages keep the user's words."""

    text: str

    def __new__(cls, value: int, text: str | None = None) -> ByteSize:
        size = super().__new__(cls, value)
        size.text = text if text is not None else str(int(value))
        return size

    @classmethod
    def parse(cls, value: str | int) -> ByteSize:
        """Like :func:`parse_size`, keeping the spelling; ValueError for anything that is not a size."""
        if isinstance(value, ByteSize):
            return value
        return cls(parse_size(value), value.strip() if isinstance(value, str) else None)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"ByteSize({int(self)}, {self.text!r})"


def human_size(size: int) -> str:
    """1073741824 -> "1 GiB", 67108864 -> "64 MiB"."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size} B"


def size_text(size: int) -> str:
    """A size as the config spells it: 1073741824 -> "1g", 536870912 -> "512m", 1000 -> "1000"."""
    for unit, factor in (("t", 1024**4), ("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def format_seconds(seconds: float) -> str:
    """60.0 -> "60", 0.5 -> "0.5"."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
