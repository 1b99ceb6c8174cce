"""Privileges: what code keeps of the caller's rights — capabilities, /etc/shadow, mknod + mount,
the clock, /proc/1/environ — and which network interfaces it sees.

The suite runs as root in CI, the case the sandbox must close: bwrap keeps root's
capabilities unless told otherwise. Every probe is harmless when it succeeds (the
device node is /dev/null's, the tmpfs is unmounted again, the clock is set to now).
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.security.harness import check_common, replies_for, run_cli, run_probe
from tests.security.probes import record
from tests.security.test_sec_secrets import fake_secrets

REPORT = "PRIVILEGES "
PRIVILEGES = r"""
import ctypes, hashlib, json, os, stat, time
report = {"uid": os.getuid()}
report["capeff"] = open("/proc/self/status").read().split("CapEff:")[1].split()[0]
try:
    report["shadow"] = hashlib.sha256(open("/etc/shadow", "rb").read()).hexdigest()
except OSError as exc:
    report["shadow"] = exc.strerror
try:
    os.mknod("probe-node", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    os.unlink("probe-node")
    report["mknod"] = "ok"
except OSError as exc:
    report["mknod"] = exc.strerror
os.makedirs("probe-mnt", exist_ok=True)
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"tmpfs", b"probe-mnt", b"tmpfs", 0, None) == 0:
    libc.umount2(b"probe-mnt", 2)
    report["mount"] = "ok"
else:
    report["mount"] = os.strerror(ctypes.get_errno())
try:
    time.clock_settime(time.CLOCK_REALTIME, time.time())
    report["settime"] = "ok"
except OSError as exc:
    report["settime"] = exc.strerror
try:
    report["proc1"] = open("/proc/1/environ", "rb").read().decode("utf-8", "replace")
except OSError as exc:
    report["proc1"] = "unreadable: " + exc.strerror
print("PRIVILEGES " + json.dumps(report))
"""
FULL_CAPS = "000001ffffffffff"
_reports: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}


def privileges(executor: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The report of the probe block for ``executor`` (run once, through the real CLI, with fake keys set)."""
    if executor not in _reports:
        values = fake_secrets()
        run = run_cli(executor, tmp_path, replies_for([PRIVILEGES]), env=values)
        assert run.exit_code == 0, run.stderr
        output = next(r["output"] for r in run.records if r["event"] == "execution_result")
        line = next(line for line in output.splitlines() if line.startswith(REPORT))
        _reports[executor] = (json.loads(line[len(REPORT) :]), values)
    return _reports[executor]


def host_shadow_digest() -> str | None:
    try:
        return hashlib.sha256(Path("/etc/shadow").read_bytes()).hexdigest()
    except OSError:
        return None


def test_capabilities(executor: str, tmp_path: Path) -> None:
    report, _ = privileges(executor, tmp_path)
    if executor == "local":
        own = Path("/proc/self/status").read_text().split("CapEff:")[1].split()[0]
        assert report["capeff"] == own
        outcome = "allowed" if int(own, 16) else "blocked"
        record("priv.capabilities", executor, outcome, f"autorun's own (CapEff {own} here)")
        return
    assert report["capeff"] == "0000000000000000", report
    assert report["uid"] != 0 or executor == "docker", report
    how = "uid 65534 in a user namespace, --cap-drop ALL" if executor == "sandbox" else "--cap-drop ALL"
    record("priv.capabilities", executor, "blocked", f"CapEff 0 ({how})")


def test_etc_shadow(executor: str, tmp_path: Path) -> None:
    report, _ = privileges(executor, tmp_path)
    host = host_shadow_digest()
    if executor == "local":
        assert (report["shadow"] == host) == (host is not None), report
        if host is not None:
            record("priv.shadow", executor, "allowed", "readable to root, which the code runs as")
        else:
            record("priv.shadow", executor, "blocked", "file permissions (autorun is not root)")
        return
    assert report["shadow"] != host, "the host's /etc/shadow was read"
    if executor == "sandbox":
        assert report["shadow"] == "No such file or directory", report
        record("priv.shadow", executor, "blocked", "not in the sandbox's minimal /etc")
    else:
        record("priv.shadow", executor, "blocked", "not mounted (the image's own /etc is what the code sees)")


def test_mknod_and_mount(executor: str, tmp_path: Path) -> None:
    report, _ = privileges(executor, tmp_path)
    if executor == "local":
        done = [name for name in ("mknod", "mount") if report[name] == "ok"]
        outcome = "allowed" if done else "blocked"
        note = f"{' and '.join(done)} worked (root)" if done else "refused: autorun is not root"
        record("priv.mknod_mount", executor, outcome, note)
        return
    assert report["mknod"] == "Operation not permitted", report
    assert report["mount"] == "Operation not permitted", report
    record("priv.mknod_mount", executor, "blocked", "both refused (EPERM): no CAP_MKNOD, no CAP_SYS_ADMIN")


def test_settimeofday(executor: str, tmp_path: Path) -> None:
    report, _ = privileges(executor, tmp_path)
    if executor == "local":
        outcome = "allowed" if report["settime"] == "ok" else "blocked"
        record("priv.settimeofday", executor, outcome, "as root it works" if outcome == "allowed" else "not root")
        return
    assert report["settime"] == "Operation not permitted", report
    record("priv.settimeofday", executor, "blocked", "refused (EPERM): no CAP_SYS_TIME")


def test_proc1_environ(executor: str, tmp_path: Path) -> None:
    report, values = privileges(executor, tmp_path)
    for value in values.values():
        assert value not in report["proc1"], "a key was read from /proc/1/environ"
    if executor == "sandbox":
        assert not report["proc1"].strip("\0") or report["proc1"].startswith("unreadable"), report["proc1"][:200]
        record("priv.proc1_environ", executor, "blocked", "pid 1 is bwrap, started with an empty environment")
    elif executor == "docker":
        record("priv.proc1_environ", executor, "blocked", "pid 1 is the container's init (scrubbed env)")
    else:
        note = "pid 1 is the machine's init, not autorun; autorun's own environ: see Secrets"
        record("priv.proc1_environ", executor, "blocked", note)


INTERFACES = "import json, socket\nprint('INTERFACES', json.dumps(sorted(n for _, n in socket.if_nameindex())))"


def interfaces(output: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith("INTERFACES "))
    names: list[str] = json.loads(line[len("INTERFACES ") :])
    return names


def test_network_none_has_only_loopback(executor: str, tmp_path: Path) -> None:
    run = run_probe(executor, tmp_path, replies_for([INTERFACES]), network="none")
    check_common(run)
    names = interfaces(run.output())
    if executor == "local":
        assert len(names) >= 1
        record("net.none_only_lo", executor, "allowed", "the host's interfaces (executor.network is not applied)")
        return
    assert names == ["lo"], names
    record("net.none_only_lo", executor, "blocked", "only lo (a network namespace of its own)")


def test_network_host_is_an_opt_in(executor: str, tmp_path: Path) -> None:
    if executor == "local":
        pytest.skip("local always has the host's network")
    host = sorted(name for _, name in socket.if_nameindex())
    run = run_probe(executor, tmp_path, replies_for([INTERFACES]), network="host")
    check_common(run)
    names = interfaces(run.output())
    assert names == host and len(names) > 1, (names, host)
    record("net.host_opt_in", executor, "allowed", "opt-in: executor.network: host shares the host's interfaces")


def test_unknown_sandbox_network_is_refused(tmp_path: Path) -> None:
    run = run_probe("sandbox", tmp_path, replies_for(["print(1)"]), network="bridge")
    assert run.exit_code == 2 and run.error is not None
    assert "executor.network must be none or host for the sandbox" in str(run.error)
