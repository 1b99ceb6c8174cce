"""The helper module the builtin analyst's blocks import, written once into the work directory.

Blocks run where autorun is not installed (a container, a sandbox, another interpreter),
so autorun writes the executor-side modules (reading, roles, report) as one plain Python
file, ``<work dir>/.autorun/analyst/autorun_analyst.py``, before the first block; every
executor sees the work dir. Each block then shows only the analysis it does:
``from autorun_analyst import load_table, report_groups`` and a call or two.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePath, PurePosixPath

from autorun.analyst.inline import carry_all

TOOLKIT_DIR = PurePosixPath(".autorun") / "analyst"
TOOLKIT_MODULE = "autorun_analyst"
SOURCES = ("reading", "roles", "report")

Writer = Callable[[Path, PurePath, bytes], None]


def toolkit_source() -> str:
    """The module's text: the three executor-side modules, one after the other."""
    from autorun import __version__

    header = (
        f'"""The builtin analyst\'s helpers (autorun {__version__}), written by autorun for the blocks it runs.\n\n'
        "Generated from autorun/analyst/reading.py, roles.py and report.py; rewritten at each session start.\n"
        '"""\n'
    )
    parts = [f"# --- autorun/analyst/{name}.py ---\n\n{carry_all(name)}" for name in SOURCES]
    return header + "\n\n" + "\n\n".join(parts)


def install_toolkit(work_dir: Path, write: Writer) -> Path:
    """Write the module into ``work_dir`` with ``write(root, relative, data)``; returns its path."""
    relative = TOOLKIT_DIR / f"{TOOLKIT_MODULE}.py"
    write(work_dir, relative, toolkit_source().encode("utf-8"))
    return work_dir / relative
