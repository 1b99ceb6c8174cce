"""Every probe of the adversarial suite, in SECURITY.md order, and the outcomes the tests record.

Outcome words: ``blocked`` (the attack had no effect), ``contained`` (it ran, but
autorun bounded it or cleaned up after it), ``allowed`` (it worked; SECURITY.md says
so), and for bad input and configuration ``refused`` (a one-line error, exit 2)
or ``handled`` (the session runs correctly).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTCOMES = ("blocked", "contained", "allowed", "refused", "handled")
EXECUTOR_COLUMNS = {"local": "local", "sandbox": "sandbox (bwrap; the default where it works)", "docker": "docker"}
ANY = "any"


@dataclass(frozen=True)
class Probe:
    id: str
    group: str
    title: str
    executors: tuple[str, ...] = tuple(EXECUTOR_COLUMNS)


def _group(name: str, *items: tuple[str, str] | tuple[str, str, tuple[str, ...]]) -> list[Probe]:
    return [Probe(item[0], name, item[1], *item[2:]) for item in items]  # type: ignore[misc]


PROBES: list[Probe] = [
    *_group(
        "Secrets",
        ("secrets.env", "print OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN from the environment"),
        ("secrets.proc_parent", "read /proc/<autorun's pid>/environ"),
        ("secrets.proc_self", "read /proc/self/environ"),
        ("secrets.beside_data", "read .env and id_rsa in the data file's directory"),
        ("secrets.home", "read ~/.env and ~/.ssh/id_rsa"),
    ),
    *_group(
        "Filesystem",
        ("fs.write_outside", "write a file outside the work dir"),
        ("fs.delete_outside", "delete a file outside the work dir"),
        ("fs.replace_input", "overwrite the input data file"),
        ("fs.data_in_work_dir", "truncate, chmod, rename and delete a data file that lies inside the work dir"),
        ("fs.filename_escape", "`# filename:` pointing outside the work dir (../, absolute, via a symlink)"),
        ("fs.symlink_script", "plant a symlink where autorun writes the next block's code file"),
        ("fs.symlink_transcripts", "turn the work dir's .autorun/sessions and data/ into symlinks to a host dir"),
        (
            "fs.planted_module",
            "`pandas.py` and `matplotlib/` planted in the work dir, then `import pandas, matplotlib` in the next "
            "session (kernel and per-process blocks)",
        ),
    ),
    *_group(
        "Host-side files (what autorun's own process opens, writes and removes)",
        (
            "host.kernel_restart_links",
            "symlinks to a root-only file (0600 in a 0700 dir) and to the data file planted in every shared dir "
            "(kernel sockets, sandbox home, work dir), then a kernel restart (`os._exit(1)`)",
        ),
        (
            "host.swapped_data_dir",
            "the data file's folder in the work dir moved away and the file replaced by a link to a root-only host "
            "file; read by the next block and the next session",
        ),
        (
            "host.cwd_on_sys_path",
            "`python -m autorun` run from the work dir (on autorun's own sys.path): a block plants `typer/`",
        ),
    ),
    *_group(
        "The builtin analyst's code and figures",
        ("builtin.planted_module", "plant matplotlib/ and .autorun/analyst/matplotlib/ for a later builtin session"),
        ("builtin.forged_facts", "forge, delete or link a facts file where the builtin used to read its figures"),
    ),
    *_group(
        "Network",
        ("net.localhost", "TCP to a server on the host's 127.0.0.1"),
        ("net.gateway", "TCP to the Docker bridge gateway (the host)"),
        ("net.dns", "a DNS query to a resolver the test runs"),
        ("net.none_only_lo", "list network interfaces with executor.network: none"),
        ("net.host_opt_in", "executor.network: host really has the host's network", ("sandbox", "docker")),
    ),
    *_group(
        "Privileges (the suite runs as root in CI)",
        ("priv.capabilities", "effective capabilities inside (CapEff)"),
        ("priv.shadow", "read the host's /etc/shadow"),
        ("priv.mknod_mount", "mknod a device node, mount a tmpfs"),
        ("priv.settimeofday", "set the system clock (to the current time)"),
        ("priv.proc1_environ", "read /proc/1/environ for the API key"),
    ),
    *_group(
        "Resources",
        ("res.fork_bomb", "fork bomb"),
        ("res.memory_bomb", "memory bomb"),
        ("res.cpu_spin", "CPU spin past the timeout"),
        ("res.big_file", "write a multi-GB file"),
        ("res.open_files", "open thousands of files"),
        ("res.disk_quota", "a loop writing big files (900 MB each by hand; 16 MB under a 64 MiB executor.disk here)"),
        ("res.disk_floor", "a loop writing files until the disk's free space is below executor.min_free_disk"),
        ("res.big_csv", "load a 1,000,000-row CSV (about 35 MB) under the default executor.memory"),
        ("res.kernel_threads", "10,000 sleeping threads left in the kernel, then an `sh` block and a python block"),
    ),
    *_group(
        "Processes",
        ("proc.daemon", "double-fork + setsid daemon that outlives the block"),
        ("proc.kill_parent", "os.kill(os.getppid(), SIGTERM)"),
        ("proc.ignore_sigterm", "a block that ignores SIGTERM and runs past the timeout"),
    ),
    *_group(
        "Output",
        ("out.flood", "100 MB on stdout"),
        ("out.long_line", "one 10 MB line"),
        ("out.binary", "binary garbage"),
        ("out.invalid_utf8", "invalid UTF-8"),
        ("out.escapes_output", "terminal escapes in code output (clear, cursor, OSC 52, OSC 8, title)"),
        ("out.escapes_model", "terminal escapes in the model's text"),
        (
            "out.escapes_export",
            "escapes (OSC 0/52, CSI 2J), raw HTML and javascript: links in the model's text, output and "
            "file names, exported as md, ipynb and html",
        ),
        (
            "out.html_report",
            "<script>, onerror= and <style> displayed as HTML or printed by a block, in the HTML report",
        ),
    ),
    *_group(
        "The session record",
        ("record.own_transcript", "a block truncates, replaces, rewrites or deletes its own transcript"),
        ("record.earlier_transcript", "a block rewrites an earlier session's transcript (then `autorun replay` it)"),
        ("record.planted_config", "a block plants autorun.yaml (`executor: {type: local}`) for the next run there"),
        ("record.forged_replay", "a block writes a transcript for `--model replay:` to run"),
        ("record.fifo", "a FIFO planted as a transcript, given to replay, results and export"),
        ("record.dev_zero", "a symlink to /dev/zero planted as a transcript, given to replay, results and export"),
    ),
    *_group(
        "Signals and infrastructure",
        ("sig.sigint", "SIGINT to autorun mid-block"),
        ("sig.sigterm", "SIGTERM to autorun mid-block"),
        ("infra.container_killed", "the session's container killed from outside mid-block", ("docker",)),
        ("infra.block_kills_agent", "a block SIGKILLs the container's agent (its parent)", ("docker",)),
        ("infra.model_dies", "the model server dies mid-stream"),
    ),
    *_group(
        "Crash leftovers and `autorun clean`",
        ("clean.sigkill", "SIGKILL autorun mid-block, then `autorun clean`"),
        ("clean.live", "`autorun clean` while a session runs"),
    ),
    *_group(
        "Bad input files",
        ("input.missing", "missing file"),
        ("input.directory", "a directory"),
        ("input.unreadable", "chmod 000 (as a non-root user)"),
        ("input.empty", "empty file"),
        ("input.header_only", "header only"),
        ("input.binary", "binary data named .csv"),
        ("input.latin1", "latin-1, semicolons, decimal commas"),
        ("input.quoted_newlines", "quoted newlines in fields"),
        ("input.duplicate_columns", "duplicate column names"),
        ("input.odd_name", "a file name with spaces, unicode and a leading dash"),
        ("input.huge", "a 1 GB CSV"),
        ("input.symlink_unreadable", "a symlink to a file the user cannot read"),
    ),
    *_group(
        "Bad configuration",
        ("config.wrong_types", "every key with a wrong type", (ANY,)),
        ("config.negative_timeout", "negative timeout", (ANY,)),
        ("config.unknown_executor", "unknown executor type", (ANY,)),
        ("config.yaml_list", "YAML that is a list", (ANY,)),
        ("config.missing_file", "a config file that does not exist", (ANY,)),
    ),
    *_group(
        "Cluster workers (--cluster)",
        (
            "cluster.env",
            "the client's API key and environment on a worker's session, without cluster.env_passthrough",
            (ANY,),
        ),
        ("cluster.return_names", "returned file names with ../, absolute, or into .autorun", (ANY,)),
        ("cluster.return_symlink", "a symlink planted in the client's work dir where a returned file lands", (ANY,)),
    ),
]
BY_ID = {probe.id: probe for probe in PROBES}

_recorded: dict[str, dict[str, dict[str, str]]] = {}
_state: dict[str, Path | None] = {"path": None}


def outcomes_path() -> Path | None:
    return _state["path"]


def set_outcomes_path(path: Path) -> None:
    _state["path"] = path
    _recorded.clear()


def record(probe_id: str, executor: str, outcome: str, note: str = "") -> None:
    """Record what a probe observed; written at once to the outcomes JSON."""
    probe = BY_ID[probe_id]
    assert executor in probe.executors, f"{probe_id} does not run on {executor}"
    assert outcome in OUTCOMES, outcome
    _recorded.setdefault(probe_id, {})[executor] = {"outcome": outcome, "note": note}
    path = outcomes_path()
    if path is not None:
        path.write_text(json.dumps(outcomes_document(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def outcomes_document() -> dict[str, Any]:
    return {
        "version": 1,
        "executors": EXECUTOR_COLUMNS,
        "probes": [{"id": p.id, "group": p.group, "title": p.title, "executors": list(p.executors)} for p in PROBES],
        "outcomes": _recorded,
    }


def missing_cells() -> list[str]:
    return [f"{p.id} on {ex}" for p in PROBES for ex in p.executors if ex not in _recorded.get(p.id, {})]


def default_outcomes_path(base: Path) -> Path:
    return Path(os.environ.get("SECURITY_OUTCOMES") or base / "security-outcomes.json")
