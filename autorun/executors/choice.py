"""Which executor a session uses: `executor.type: auto` picks the sandbox wherever bwrap works.

The choice carries its reason (for the session header and the SessionStart event) and,
when `auto` has to fall back to local, the one-line warning the user sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from autorun.errors import ConfigError

if TYPE_CHECKING:
    from autorun.executors.sandbox.bwrap import SandboxNetwork


@dataclass(frozen=True)
class ExecutorChoice:
    kind: str  # sandbox | local | docker | none
    reason: str
    warning: str | None = None
    sandbox_network: SandboxNetwork = "none"  # for the sandbox: executor.network, checked here


def local_warning(why: str) -> str:
    return (
        f"running code as a local subprocess, because {why}: it can read your files, use your network "
        "and see autorun's processes; for the sandbox install bubblewrap (`apt install bubblewrap`), "
        "or use --docker IMAGE"
    )


def choose_executor(
    kind: str,
    *,
    sandbox_alias: str = "none",
    network: str = "none",
    status: Callable[[], tuple[bool, str]] | None = None,
) -> ExecutorChoice:
    """Resolve `executor.type` (and the old `executor.sandbox: bwrap`) to the executor to build."""
    if sandbox_alias == "bwrap" and kind in ("auto", "local"):
        choice = ExecutorChoice("sandbox", "executor.sandbox: bwrap (the old spelling of executor.type: sandbox)")
    elif kind == "auto":
        if status is None:
            from autorun.executors.sandbox.bwrap import sandbox_status

            status = sandbox_status
        works, why = status()
        if works:
            choice = ExecutorChoice("sandbox", f"auto: {why}")
        else:
            choice = ExecutorChoice("local", f"auto: {why}", local_warning(why))
    else:
        choice = ExecutorChoice(kind, f"executor.type: {kind}")
    if choice.kind != "sandbox" or network == "none":
        return choice
    if network == "host":
        return replace(choice, sandbox_network="host")
    raise ConfigError(
        f"executor.network must be none or host for the sandbox, got {network!r}; "
        "Docker network names need --docker IMAGE."
    )
