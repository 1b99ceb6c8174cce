"""Decide which environment variables code run by an executor may see.

Only an allowlist of harmless variables is kept. ``passthrough`` adds names the
user asked for, but a name that looks like a secret (secrets.is_secret_name:
KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL, AUTH..., in any case) is refused even
when passed through: secrets never reach generated code. The removed values
are returned so callers can redact them from output and transcripts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from autorun.secrets import is_secret_name

ALLOWED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TMPDIR",
        "TZ",
        "TERM",
        "VIRTUAL_ENV",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
    }
)
ALLOWED_PREFIXES = ("LC_",)

# Set for every execution: plt.show() never blocks, output decodes, output streams live.
EXECUTION_ENV = {"MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}


def refused_passthrough(passthrough: Sequence[str]) -> list[str]:
    """The passthrough names that will be refused because they look like secrets."""
    return [name for name in passthrough if is_secret_name(name)]


def _allowed(name: str, passthrough: frozenset[str]) -> bool:
    if is_secret_name(name):
        return False
    return name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES) or name in passthrough


def scrub_environment(env: Mapping[str, str], passthrough: Sequence[str] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """Split ``env`` into (kept, removed). EXECUTION_ENV is not added here."""
    extra = frozenset(passthrough)
    kept: dict[str, str] = {}
    removed: dict[str, str] = {}
    for name, value in env.items():
        (kept if _allowed(name, extra) else removed)[name] = value
    return kept, removed


def execution_environment(
    env: Mapping[str, str], passthrough: Sequence[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """The scrubbed environment plus EXECUTION_ENV, and the removed variables."""
    kept, removed = scrub_environment(env, passthrough)
    return {**kept, **EXECUTION_ENV}, removed
