"""The bwrap sandbox: its command line, and what code really sees inside it (real bwrap, real processes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autorun.codeblocks import CodeBlock
from autorun.errors import ConfigError
from autorun.executors.choice import choose_executor
from autorun.executors.sandbox.bwrap import (
    SANDBOX_UID,
    Sandbox,
    SandboxSpec,
    explain_failure,
    sandbox_etc,
    sandbox_problem,
)
from tests.host_executors import host_executor


def bwrap_or_skip() -> str:
    path = shutil.which("bwrap")
    problem = "bwrap is not installed" if path is None else sandbox_problem(path)
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the sandbox must work: {problem}")
        pytest.skip(problem)
    assert path is not None
    return path


def spec(tmp_path: Path, network: str = "none") -> SandboxSpec:
    return SandboxSpec("bwrap", tmp_path / "w", sys.executable, sandbox_etc(tmp_path / "etc", network), network=network)


def test_command_drops_every_capability_and_runs_as_an_unprivileged_uid(tmp_path: Path) -> None:
    args = spec(tmp_path).bwrap_args({"PATH": "/usr/bin"})
    text = " ".join(args)
    assert "--unshare-all" in args and "--share-net" not in args
    assert f"--unshare-user --uid {SANDBOX_UID} --gid {SANDBOX_UID} --cap-drop ALL" in text
    assert "--clearenv" in args and "--setenv PATH /usr/bin" in text
    assert "--ro-bind-try /etc /etc" not in text and "/etc/shadow" not in text


def test_network_host_shares_the_network_and_resolv_conf(tmp_path: Path) -> None:
    text = " ".join(spec(tmp_path, "host").bwrap_args({}))
    assert "--share-net" in text
    if Path("/etc/resolv.conf").exists():
        assert "/etc/resolv.conf" in text


def test_sandbox_passwd_names_the_sandbox_user(tmp_path: Path) -> None:
    etc = sandbox_etc(tmp_path, "none")
    assert f"sandbox:x:{SANDBOX_UID}:" in (etc / "passwd").read_text()
    assert (etc / "hosts").read_text().startswith("127.0.0.1")


def test_failure_explanations_name_the_cause() -> None:
    assert "exit code 1" in explain_failure("", 1)
    text = explain_failure("bwrap: No permissions to create new namespace", 1)
    assert "namespace" in text and ":" in text


def run_inside(tmp_path: Path, code: str, network: str = "none") -> tuple[int, str]:
    executor = host_executor(
        tmp_path / "work", 30, sandbox="bwrap", network=network, base_env={"PATH": "/usr/bin:/bin"}
    )
    with executor:
        result = executor.run(CodeBlock("python", code, 0), lambda _text: None)
    return result.exit_code, result.output


def test_inside_capabilities_are_zero_and_the_uid_is_unprivileged(tmp_path: Path) -> None:
    bwrap_or_skip()
    code, output = run_inside(
        tmp_path,
        "import os\nprint(open('/proc/self/status').read().split('CapEff:')[1].split()[0], os.getuid())\n"
        "print(sorted(os.listdir('/etc')))\nprint(repr(open('/proc/1/environ').read()))",
    )
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == f"0000000000000000 {SANDBOX_UID}"
    assert "'shadow'" not in lines[1] and "'passwd'" in lines[1] and "'ssh'" not in lines[1]
    assert lines[2] == "''", "bwrap (pid 1) was started with an empty environment"


def test_pandas_and_matplotlib_work_inside(tmp_path: Path) -> None:
    bwrap_or_skip()
    pytest.importorskip("matplotlib")
    code, output = run_inside(
        tmp_path,
        "import pandas as pd, matplotlib.pyplot as plt, getpass\n"
        "plt.plot(pd.Series([1, 2, 3])); plt.savefig('plot.png'); print('user', getpass.getuser())",
    )
    assert code == 0 and "user sandbox" in output, output
    assert (tmp_path / "work" / "plot.png").stat().st_size > 0


def test_auto_picks_the_sandbox_where_bwrap_works_else_local_with_a_warning() -> None:
    works = choose_executor("auto", status=lambda: (True, "bwrap works (/usr/bin/bwrap)"))
    assert (works.kind, works.warning) == ("sandbox", None) and "bwrap works" in works.reason
    fallback = choose_executor("auto", status=lambda: (False, "bubblewrap is not installed"))
    assert fallback.kind == "local" and fallback.warning is not None
    assert "apt install bubblewrap" in fallback.warning and "--docker IMAGE" in fallback.warning
    assert "\n" not in fallback.warning
    assert choose_executor("local").kind == "local"
    assert choose_executor("local", sandbox_alias="bwrap").kind == "sandbox"
    with pytest.raises(ConfigError, match="none or host"):
        choose_executor("sandbox", network="bridge")
    with pytest.raises(ConfigError, match="none or host"):
        choose_executor("auto", network="bridge", status=lambda: (True, "bwrap works"))
    assert choose_executor("sandbox").sandbox_network == "none"
    assert choose_executor("local", sandbox_alias="bwrap", network="host").sandbox_network == "host"
    assert choose_executor("local", network="bridge").kind == "local", "only the sandbox's network is checked"


def test_the_real_sandbox_status_agrees_with_bwrap() -> None:
    from autorun.executors.sandbox.bwrap import sandbox_status

    works, why = sandbox_status()
    path = shutil.which("bwrap")
    if path is None:
        assert (works, why) == (False, "bubblewrap is not installed")
        return
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-user", "--", "true"], capture_output=True)
    assert works == (probe.returncode == 0), why


def test_launcher_binds_extra_writable_directories_only_when_asked(tmp_path: Path) -> None:
    bwrap_or_skip()
    from autorun.executors.host.launcher import HostLauncher

    work, sockets = tmp_path / "work", tmp_path / "sockets"
    work.mkdir()
    sockets.mkdir()
    box = Sandbox(work, interpreter=sys.executable)
    launcher = HostLauncher(work, {"PATH": "/usr/bin:/bin"}, sandbox=box)
    code = f"open({str(sockets / 'k.json')!r}, 'w').write('x')"
    try:
        hidden = launcher.launch([sys.executable, "-c", code])
        hidden.proc.wait()
        shared = launcher.launch([sys.executable, "-c", code], read_write=[sockets])
        shared.proc.wait()
    finally:
        launcher.close()
    assert hidden.proc.returncode != 0, "the directory is not visible unless bound"
    assert shared.proc.returncode == 0 and (sockets / "k.json").read_text() == "x"
