"""Exit codes and the errors a user can cause, each mapped to one exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNSUCCESSFUL = 1
    USAGE = 2
    MODEL = 3
    EXECUTOR = 4
    INTERRUPTED = 130
    TERMINATED = 143


class AutorunError(Exception):
    """An error with a one-line message for the user and a fixed exit code."""

    exit_code: ExitCode = ExitCode.UNSUCCESSFUL


class ConfigError(AutorunError):
    """Bad configuration, bad flags or a bad input file (exit 2)."""

    exit_code = ExitCode.USAGE


class InputFileError(ConfigError):
    """The data file is missing, unreadable, empty or not tabular (exit 2)."""


class ModelError(AutorunError):
    """The model cannot answer: auth, unreachable, unknown model, retries spent (exit 3)."""

    exit_code = ExitCode.MODEL


class ExecutorError(AutorunError):
    """The executor cannot run code at all: no engine, image absent (exit 4)."""

    exit_code = ExitCode.EXECUTOR


class ClusterError(AutorunError):
    """The Dask scheduler cannot be reached or went away (exit 3, as for an unreachable model service)."""

    exit_code = ExitCode.MODEL
