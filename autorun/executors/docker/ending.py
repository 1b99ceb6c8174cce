"""Why the session container stopped while a block ran, told from the engine's record of it.

The container's stream ends when its agent exits. That is the block's doing unless
something stopped the container from outside: `docker kill`, `docker rm -f`,
`autorun clean --all` and an engine stopping its containers all send a signal the
engine records as a ``kill`` event. So with no such event since the container started,
the block ended it (it killed the agent, or left the container unable to start a
process) and the message names the block; with one, the message says it came from
outside; when the engine has no record of the container at all (it restarted and lost
its events), the message says that it cannot tell.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autorun.errors import ExecutorError
from autorun.executors.docker.engine import engine_error, first_line, is_connection_failure

_EVENTS_WAIT_S = 1.0


@dataclass(frozen=True)
class Ending:
    started: bool  # the engine recorded the container's start (so it kept its events)
    killed: bool  # a kill from outside (docker kill / rm -f / stop, or the engine)
    oom: bool
    exit_code: int | None


def container_ending(api: Any, container_id: str, since: float) -> Ending:
    """What the engine recorded about the container since ``since`` (seconds), up to its death."""
    actions: list[tuple[str, dict[str, str]]] = []
    until = time.time() + _EVENTS_WAIT_S
    events = api.events(since=int(since) - 1, until=int(until) + 1, filters={"container": container_id}, decode=True)
    try:
        for event in events:
            action = str(event.get("Action") or event.get("status") or "")
            actions.append((action, dict((event.get("Actor") or {}).get("Attributes") or {})))
            if action == "die" or time.time() > until:
                break
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    codes = [attributes.get("exitCode", "") for action, attributes in actions if action == "die"]
    return Ending(
        started=any(action == "start" for action, _ in actions),
        killed=any(action == "kill" for action, _ in actions),
        oom=any(action == "oom" for action, _ in actions),
        exit_code=int(codes[0]) if codes and codes[0].isdigit() else None,
    )


def container_gone(
    api: Any,
    container_id: str,
    name: str,
    *,
    since: float,
    block: int | None,
    host_env: Mapping[str, str],
    lost: BaseException,
) -> ExecutorError:
    """The one-line error for a container whose stream ended while block ``block`` ran."""
    import docker.errors

    try:
        status = str(api.inspect_container(container_id)["State"].get("Status", "unknown"))
    except docker.errors.NotFound:
        status = "removed"
    except Exception as exc:
        if is_connection_failure(exc):
            return engine_error(exc, host_env, during="while a block was running")
        status = f"unknown ({first_line(exc)})"
    if status == "running":
        return ExecutorError(f"Lost the output stream of Docker container {name} ({lost}).")
    try:
        ending = container_ending(api, container_id, since)
    except Exception as exc:
        if is_connection_failure(exc):
            return engine_error(exc, host_env, during="while a block was running")
        ending = Ending(False, False, False, None)
    which = f"block {block}" if block else "the running block"
    if not ending.started:
        return ExecutorError(
            f"The Docker container {name} stopped while {which} was running (container {status}) and the "
            "engine has no record of why (did it restart?), so the session cannot continue."
        )
    if ending.killed:
        return ExecutorError(
            f"The Docker container {name} was stopped from outside while {which} was running (docker kill or "
            "rm, `autorun clean --all`, or the engine stopping it), so the session cannot continue."
        )
    how = "ran it out of memory" if ending.oom else "killed its agent or left it unable to start a process"
    code = f", exit code {ending.exit_code}" if ending.exit_code is not None else ""
    return ExecutorError(
        f"{which[0].upper()}{which[1:]} stopped the Docker container {name} ({how}{code}), "
        "so the session cannot continue; start a new session."
    )
