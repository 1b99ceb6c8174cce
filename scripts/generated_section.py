"""A generated section of a Markdown file, between two marker lines: replaced, written or checked.

Shared by scripts/security-table.py (SECURITY.md) and scripts/architecture-table.py (ARCHITECTURE.md).
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Markers:
    start: str
    end: str
    document: str  # the file's name, for the error that says the markers are missing

    def replace(self, text: str, section: str) -> str:
        """``text`` with what stands between the markers replaced by ``section``."""
        if self.start not in text or self.end not in text:
            raise SystemExit(f"the markers are missing; {self.document} needs the lines\n{self.start}\n{self.end}")
        head, rest = text.split(self.start, 1)
        _old, tail = rest.split(self.end, 1)
        return f"{head}{self.start}\n{section}{self.end}{tail}"

    def write_or_check(self, target: Path, section: str, *, write: bool, fix: str) -> int:
        """Write the section into ``target``, or (check) print the diff and ``fix`` and return 1 when it differs."""
        current = target.read_text(encoding="utf-8")
        updated = self.replace(current, section)
        if write:
            target.write_text(updated, encoding="utf-8")
            return 0
        if updated != current:
            diff = difflib.unified_diff(
                current.splitlines(), updated.splitlines(), str(target), "generated", lineterm=""
            )
            sys.stdout.write("\n".join(diff) + "\n")
            print(f"{target} is out of date: run {fix}", file=sys.stderr)
            return 1
        return 0
