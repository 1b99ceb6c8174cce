"""Rewrite the paths a session's code used so the exported code runs from the work dir.

The record says where the code saw the work dir and the data file (a Docker session's
code sees ``/workspace`` and ``/workspace/data/NAME``, a read-only mount that exists only
while the container runs; local and sandbox code sees host paths). In a notebook opened
in the work dir, the work dir is ``./`` and the data file is its host path (relative when
it lies inside the work dir).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from autorun.export.report import Summary


def path_rewrites(summary: Summary) -> list[tuple[str, str]]:
    """(seen by the code, to use instead) pairs, the longest first so a data path wins over its directory."""
    work_dir = Path(summary.work_dir)
    code_work_dir = (summary.code_work_dir or "").rstrip("/")
    pairs: dict[str, str] = {}
    if summary.data_file:
        host = Path(summary.data_file)
        target = os.path.relpath(host, work_dir) if host.is_relative_to(work_dir) else str(host)
        seen = summary.data_path
        if seen is None and code_work_dir and code_work_dir != work_dir.as_posix():
            seen = f"{code_work_dir}/data/{host.name}"  # an older record: where Docker mounted it
        if seen and seen != target:
            pairs[seen] = target
    if summary.code_work_dir:
        pairs[f"{code_work_dir}/"] = "./"
    pairs[f"{work_dir.as_posix().rstrip('/')}/"] = "./"
    return sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True)


def rewrite(code: str, rewrites: list[tuple[str, str]]) -> str:
    """``code`` with every path of ``rewrites`` replaced in one pass (no replacement is rewritten again)."""
    if not rewrites:
        return code
    table = dict(rewrites)
    pattern = re.compile("|".join(re.escape(seen) for seen, _ in rewrites))
    return pattern.sub(lambda match: table[match.group(0)], code)
