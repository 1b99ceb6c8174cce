"""The session kernel behind the local executor, unsandboxed and in bwrap: real ipykernel processes."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autorun.codeblocks import CodeBlock
from autorun.executors.kernel.outcome import STATE_KEPT, STATE_LOST
from autorun.executors.local.executor import LocalExecutor
from tests.host_executors import host_executor

ONE_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
SANDBOXES = ["none", pytest.param("bwrap", marks=pytest.mark.skipif(not shutil.which("bwrap"), reason="no bwrap"))]


def block(code: str, index: int = 1, language: str = "python") -> CodeBlock:
    return CodeBlock(language=language, code=code, index=index)


@pytest.fixture(params=SANDBOXES)
def executor(request: pytest.FixtureRequest, tmp_path: Path):
    notices: list[str] = []
    ex = host_executor(tmp_path / "work", 3, sandbox=request.param, on_notice=notices.append, stateful=True)
    ex.notices = notices  # type: ignore[attr-defined]
    yield ex
    ex.close()


def run(ex: LocalExecutor, code: str, index: int = 1, language: str = "python"):
    streamed: list[str] = []
    result = ex.run(block(code, index, language), streamed.append)
    assert "".join(streamed) == result.output
    return result


def test_variables_and_imports_persist_across_blocks(executor: LocalExecutor) -> None:
    executor.warm_up()
    assert run(executor, "import json\ntotal = 41", 1).exit_code == 0
    result = run(executor, "total += 1\nprint(json.dumps({'total': total}))", 2)
    assert (result.exit_code, result.output) == (0, '{"total": 42}\n')
    assert executor.stateful and executor.notices == []  # type: ignore[attr-defined]


def test_kernel_runs_in_the_work_dir_with_the_scrubbed_environment(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OPENAI_API_KEY": "sk-secret"}
    with LocalExecutor(tmp_path / "work", 10, base_env=env, stateful=True) as ex:
        result = run(ex, "import os\nprint(os.getcwd())\nprint(os.environ.get('OPENAI_API_KEY'))")
    assert result.output.splitlines() == [str(tmp_path / "work"), "None"]
    assert not (tmp_path / ".ipython").exists()  # a private IPython dir, not the user's


def test_an_exception_is_exit_code_1_with_a_plain_traceback(executor: LocalExecutor) -> None:
    result = run(executor, "def f():\n    return 1 / 0\nf()")
    assert result.exit_code == 1
    assert "ZeroDivisionError: division by zero" in result.output
    assert "\x1b[" not in result.output


def test_timeout_interrupts_and_keeps_the_state(executor: LocalExecutor) -> None:
    run(executor, "kept = 'yes'", 1)
    result = run(executor, "print('spinning', flush=True)\nwhile True: pass", 2)
    assert result.timed_out and result.exit_code == 124
    assert result.output == f"spinning\ntimed out after 3 s\n{STATE_KEPT}\n"
    assert run(executor, "print(kept)", 3).output == "yes\n"


def test_a_kernel_that_ignores_the_interrupt_is_restarted_and_the_model_told(executor: LocalExecutor) -> None:
    run(executor, "lost = 1", 1)
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
    result = run(executor, code, 2)
    assert result.exit_code == 124
    assert result.output.endswith(f"timed out after 3 s\n{STATE_LOST}\n")
    after = run(executor, "print('lost' in globals())", 3)
    assert (after.exit_code, after.output) == (0, "False\n")


def test_a_kernel_killed_from_inside_is_restarted_and_the_model_told(executor: LocalExecutor) -> None:
    run(executor, "x = 1", 1)
    result = run(executor, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", 2)
    assert result.exit_code == 137
    assert result.output == f"the kernel died (killed by SIGKILL)\n{STATE_LOST}\n"
    exited = run(executor, "import os\nos._exit(3)", 3)
    assert exited.exit_code == 3 and "the kernel died (exit code 3)" in exited.output
    assert run(executor, "x = 2\nprint(x)", 4).output == "2\n"


def test_a_matplotlib_figure_becomes_a_png_in_the_work_dir(executor: LocalExecutor) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.figure()\nplt.bar(['a'], [1])\nprint('drawn')"
    result = run(executor, code, 7)
    assert result.output == "drawn\nfigures saved: figure-7-1.png, figure-7-2.png\n"
    for name in ("figure-7-1.png", "figure-7-2.png"):
        assert (executor.work_dir / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    again = run(executor, "import matplotlib.pyplot as plt\nprint(plt.get_fignums())", 8)
    assert again.output == "[]\n"  # saved figures are closed, so they are not saved twice


def test_a_figure_the_code_saved_itself_is_not_saved_again(executor: LocalExecutor) -> None:
    executor.timeout = 60  # the first import of matplotlib alone can take seconds on a busy machine
    assert run(executor, "import matplotlib.pyplot", 4).exit_code == 0
    code = (
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots()\nax.bar(['a', 'b'], [1, 2])\nfig.savefig('mine.png')\n"
        "plt.figure()\nplt.plot([1, 2])\nplt.savefig('also-mine.png', dpi=50)\n"
        "plt.figure()\nplt.plot([2, 1])\nprint('drawn')"
    )
    result = run(executor, code, 5)
    assert result.output == "drawn\nfigures saved: figure-5-1.png\n", "only the figure left unsaved"
    assert sorted(p.name for p in executor.work_dir.glob("*.png")) == ["also-mine.png", "figure-5-1.png", "mine.png"]
    again = run(executor, "import matplotlib.pyplot as plt\nplt.plot([1])\nprint(plt.get_fignums())", 6)
    assert again.output == "[1]\nfigures saved: figure-6-1.png\n", "a new figure is saved as before"


def test_a_displayed_png_is_saved_too(executor: LocalExecutor) -> None:
    code = (
        "import base64\nfrom IPython.display import Image, display\n"
        f"png = base64.b64decode({ONE_PIXEL_PNG!r})\n"
        "display(Image(data=png))"
    )
    result = run(executor, code, 4)
    assert result.output == "figures saved: figure-4-display-1.png\n"
    assert (executor.work_dir / "figure-4-display-1.png").read_bytes().startswith(b"\x89PNG")


def test_sh_blocks_still_run_as_processes(executor: LocalExecutor) -> None:
    run(executor, "shared = 1", 1)
    result = run(executor, "echo $$ && python3 -c 'print(\"shared\" in globals())'", 2, "sh")
    assert result.exit_code == 0 and result.output.splitlines()[1] == "False"


def test_stateful_false_runs_each_block_as_a_process(tmp_path: Path) -> None:
    with LocalExecutor(tmp_path, 10, stateful=False) as ex:
        run(ex, "x = 1", 1)
        result = run(ex, "print(x)", 2)
    assert result.exit_code == 1 and "NameError" in result.output
    assert ex._kernel is None


def test_an_interpreter_without_ipykernel_falls_back_with_one_notice(tmp_path: Path) -> None:
    python = "/usr/bin/python3"
    if (
        not Path(python).exists()
        or subprocess.run([python, "-c", "import ipykernel"], capture_output=True).returncode == 0
    ):
        pytest.skip("needs a system python3 without ipykernel")
    notices: list[str] = []
    with LocalExecutor(tmp_path, 10, python=python, on_notice=notices.append, stateful=True) as ex:
        ex.warm_up()
        first = run(ex, "x = 1\nprint('ran')", 1)
        second = run(ex, "print('again')", 2)
    assert (first.output, second.output) == ("ran\n", "again\n")
    assert not ex.stateful
    assert len(notices) == 1 and "No module named 'ipykernel'" in notices[0]
    assert "each python block runs as its own process" in notices[0] and "install ipykernel" in notices[0]


def test_close_leaves_no_kernel_and_no_socket_directory(executor: LocalExecutor) -> None:
    run(executor, "import os\nprint(os.getpid())", 1)
    host = executor._kernel_host
    assert host is not None
    pids, directory = set(host.kernel_pids), host.dirs().sockets
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct(directory.parent.stat().st_mode & 0o777) == "0o700"
    executor.close()
    executor.close()
    assert not directory.parent.exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def test_a_daemon_started_by_a_kernel_block_is_swept(tmp_path: Path) -> None:
    code = (
        "import os, subprocess\n"
        "p = subprocess.Popen(['sh', '-c', 'sleep 300 & echo $!'], stdout=subprocess.PIPE, start_new_session=True)\n"
        "print(p.stdout.readline().decode().strip())\n_ = p.wait()"
    )
    with LocalExecutor(tmp_path, 10, stateful=True) as ex:
        pid = int(run(ex, code).output.strip())
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_processes_a_kernel_block_started_do_not_outlive_it(executor: LocalExecutor) -> None:
    code = (
        "import subprocess\n"
        "a = subprocess.Popen(['sleep', '300'])\n"
        "b = subprocess.Popen(['sleep', '301'], start_new_session=True)\n"
        "print(a.pid, b.pid)"
    )
    first = run(executor, code, 1)
    wait_for_death = (  # SIGKILL takes effect when the killed process is next scheduled
        "import time\ndeadline = time.monotonic() + 5\n"
        "while (a.poll() is None or b.poll() is None) and time.monotonic() < deadline:\n    time.sleep(0.01)\n"
        "print([p.pid for p in (a, b) if p.returncode != -9])"
    )
    check = run(executor, wait_for_death, 2)
    assert first.exit_code == 0
    assert check.output == "[]\n"
    assert run(executor, "print('still here')", 3).output == "still here\n"


def test_pandas_is_imported_while_the_model_thinks_and_binds_no_name(executor: LocalExecutor) -> None:
    executor.warm_up()
    result = run(executor, "import sys\nprint('pandas' in sys.modules, 'pandas' in globals())")
    assert result.output == "True False\n"


def test_ctrl_c_stops_only_the_running_block_and_keeps_the_state(executor: LocalExecutor) -> None:
    import signal

    def ctrl_c(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    run(executor, "kept = 'yes'", 1)
    previous = signal.signal(signal.SIGALRM, ctrl_c)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            executor.run(block("while True: pass", 2), lambda _text: None)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert callable(executor.interrupt)  # every executor stops only the running block (the protocol requires it)
    executor.interrupt()
    assert run(executor, "print(kept)", 3).output == "yes\n"


def test_bytes_written_to_stdout_buffer_arrive_decoded(executor: LocalExecutor) -> None:
    result = run(
        executor, "import sys\nsys.stdout.buffer.write(b'caf\\xc3\\xa9 \\xff end\\n')\nsys.stdout.buffer.flush()"
    )
    assert result.output == "caf\u00e9 \ufffd end\n"


@pytest.mark.parametrize(
    ("code", "exit_code", "output"),
    [("import sys\nsys.exit(3)", 3, ""), ("import sys\nsys.exit()", 0, ""), ("raise SystemExit('bye')", 1, "bye\n")],
)
def test_sys_exit_gives_the_exit_code_a_script_would(executor: LocalExecutor, code: str, exit_code: int, output: str):
    result = run(executor, code)
    assert (result.exit_code, result.output) == (exit_code, output)
    assert run(executor, "print('kernel still up')").output == "kernel still up\n"


def test_a_forked_copy_of_the_kernel_is_swept_not_the_kernel(executor: LocalExecutor) -> None:
    code = (
        "import os, time\nkept = 1\n"
        "if os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\n    os._exit(0)\n"
        "print('forked')"
    )
    assert run(executor, code, 1).output == "forked\n"
    assert run(executor, "print(kept)", 2).output == "1\n"


def test_a_slow_start_leaves_no_pile_of_answers_for_the_first_block(tmp_path: Path) -> None:
    """kernel_info is asked again only once the startup code has run, so few answers wait for the first block."""
    from autorun.executors.host.launcher import HostLauncher
    from autorun.executors.hostdir import HostDir
    from autorun.executors.kernel import KernelDriver
    from autorun.executors.kernel.blocks import image_saver
    from autorun.executors.local.kernel import LocalKernelHost

    work = tmp_path / "work"
    work.mkdir()
    (work / "slowstart.py").write_text("import time\ntime.sleep(1.5)\n")
    host_dir = HostDir()
    host = LocalKernelHost(sys.executable, HostLauncher(work, dict(os.environ)), None, host_dir)
    driver = KernelDriver(host, save_image=image_saver(work), preload=("slowstart",))
    try:
        driver.ensure_started()
        assert driver._kernel is not None
        client = driver._kernel.client
        waiting = 0
        with contextlib.suppress(queue.Empty):
            while True:
                waiting += client.get_shell_msg(timeout=0.5)["msg_type"] == "kernel_info_reply"
        assert waiting <= 2
        outcome = driver.execute("print(1)", lambda _text: None, timeout=10, figure_prefix="figure")
        assert (outcome.exit_code, outcome.output) == (0, "1\n")
    finally:
        driver.close()
        host_dir.remove()


def test_a_block_whose_reply_is_there_does_not_ask_whether_the_kernel_lives(tmp_path: Path) -> None:
    """In Docker each ask is a round trip to the agent: a block's execute_reply is read without one."""
    from autorun.executors.host.launcher import HostLauncher
    from autorun.executors.hostdir import HostDir
    from autorun.executors.kernel import KernelDriver
    from autorun.executors.kernel.blocks import image_saver
    from autorun.executors.kernel.host import PopenKernelProcess
    from autorun.executors.local.kernel import LocalKernelHost

    asked: list[int] = []

    class CountingHost(LocalKernelHost):
        def launch(self, args: list[str], env: dict[str, str]) -> PopenKernelProcess:
            process = super().launch(args, env)
            alive = process.alive
            process.alive = lambda: asked.append(1) is None and alive()  # type: ignore[method-assign]
            return process

    work = tmp_path / "work"
    work.mkdir()
    host_dir = HostDir()
    driver = KernelDriver(
        CountingHost(sys.executable, HostLauncher(work, dict(os.environ)), None, host_dir),
        save_image=image_saver(work),
        preload=(),
    )
    try:
        driver.ensure_started()
        asked.clear()
        for n in range(10):
            outcome = driver.execute(f"x = {n}", lambda _text: None, timeout=10, figure_prefix="figure")
            assert outcome.exit_code == 0
        assert len(asked) < 10  # only a block slower than the pump's liveness interval asks
    finally:
        driver.close()
        host_dir.remove()
