"""What a sandbox or Docker session refuses about its work dir, which code run there can write.

autorun's own installation inside it: if autorun's package
or the Python installation running it (a venv in a project directory used as the work
dir, an editable checkout), or any directory on autorun's own sys.path (the current
directory, for `python -m autorun`), were inside it, sandboxed code could plant or rewrite
a module that autorun's own process imports next, on the host. Such a work dir is refused.

A data file named through a symlink inside it: an earlier session's code may have planted
the link (moved input/ away, put input/sales.csv -> /etc/shadow in its place), so the file
autorun would show the code is not the user's. The real path works.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import autorun
from autorun.errors import ConfigError


def own_installation() -> list[Path]:
    """autorun's package directory, the prefixes of the Python running it and its import path."""
    paths = [Path(autorun.__file__).resolve().parent]
    paths += [Path(prefix).resolve() for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    paths += [Path(entry or os.getcwd()).resolve() for entry in sys.path if os.path.isdir(entry or ".")]
    return paths


def refuse_work_dir_holding_autorun(work_dir: Path, executor: str) -> None:
    """ConfigError when ``work_dir`` (resolved) contains autorun's own installation."""
    for path in own_installation():
        if path == work_dir or path.is_relative_to(work_dir):
            raise ConfigError(
                f"executor.work_dir {work_dir} contains autorun's own installation ({path}): code run by the "
                f"{executor} executor could change autorun itself; choose a work dir outside it "
                "(e.g. --work-dir coding_workspace)."
            )


def refuse_data_through_work_dir_links(work_dir: Path, files: list[Path]) -> None:
    """InputFileError when a data file's path, inside ``work_dir``, passes through a symlink there."""
    from autorun.errors import InputFileError

    for given in files:
        path = Path(os.path.abspath(Path(given).expanduser()))
        if not path.is_relative_to(work_dir):
            continue
        current = work_dir
        for part in path.relative_to(work_dir).parts:
            current = current / part
            if current.is_symlink():
                raise InputFileError(
                    f"{given}: {current} is a symlink inside the work dir, where code run by an earlier session "
                    "could have planted it; pass the data file's real path instead."
                )
