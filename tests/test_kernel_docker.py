"""The session kernel inside the Docker container (network none), against the real engine."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from autorun.executors.kernel.outcome import STATE_KEPT, STATE_LOST
from tests.docker_fixtures import TEST_IMAGE, docker_settings, require_engine, run_code

pytest_plugins = ("tests.docker_fixtures",)
pytestmark = pytest.mark.docker
require_engine()

NO_KERNEL_IMAGE = "autorun-test-no-ipykernel:3"


def test_state_persists_across_blocks_with_no_network(make_executor) -> None:
    with make_executor(stateful=True) as ex:
        ex.warm_up()
        assert run_code(ex, "import socket\nkept = 41").exit_code == 0
        result = run_code(ex, "kept += 1\nprint(kept)")
        net = run_code(
            ex,
            "try:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\nexcept OSError as e:\n"
            "    print('no network:', e.errno)",
        )
        assert ex.stateful
    assert result.output == "42\n"
    assert net.output.startswith("no network:")


def test_timeout_interrupts_and_a_dead_kernel_is_restarted(make_executor) -> None:
    with make_executor(stateful=True, timeout=2) as ex:
        run_code(ex, "x = 'kept'")
        spun = run_code(ex, "while True: pass")
        after = run_code(ex, "print(x)")
        died = run_code(ex, "import os\nos._exit(5)")
        gone = run_code(ex, "print('x' in globals())")
    assert spun.exit_code == 124 and spun.output == f"timed out after 2 s\n{STATE_KEPT}\n"
    assert after.output == "kept\n"
    assert died.exit_code == 5 and died.output == f"the kernel died (exit code 5)\n{STATE_LOST}\n"
    assert gone.output == "False\n"


def test_a_figure_lands_in_the_work_dir(make_executor) -> None:
    with make_executor(stateful=True) as ex:
        result = run_code(ex, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nprint('ok')")
        work = ex.work_dir
    assert result.output == "ok\nfigures saved: figure-1.png\n" or "figures saved: figure" in result.output
    assert any(p.read_bytes().startswith(b"\x89PNG") for p in work.glob("figure*.png"))


def test_a_process_a_kernel_block_started_does_not_outlive_it(make_executor) -> None:
    with make_executor(stateful=True) as ex:
        run_code(ex, "import subprocess\np = subprocess.Popen(['sleep', '300'])")
        wait = (  # SIGKILL takes effect when the killed process is next scheduled
            "import time\nt = time.monotonic()\nwhile p.poll() is None and time.monotonic() - t < 5:\n"
            "    time.sleep(0.01)\n"
        )
        result = run_code(ex, wait + "print(p.returncode == -9)")
        alive = run_code(ex, "print('kernel alive')")
    assert result.output == "True\n" and alive.output == "kernel alive\n"


@pytest.fixture(scope="module")
def image_without_ipykernel() -> str:
    present = subprocess.run(["docker", "image", "inspect", NO_KERNEL_IMAGE], capture_output=True)
    if present.returncode != 0:
        name = "autorun-build-no-ipykernel"
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(
            [
                "docker",
                "run",
                "--name",
                name,
                "--network",
                "none",
                TEST_IMAGE,
                "sh",
                "-c",
                "rm -rf /usr/lib/python3/dist-packages/ipykernel /usr/lib/python3/dist-packages/ipykernel_launcher.py",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(["docker", "commit", name, NO_KERNEL_IMAGE], check=True, capture_output=True)
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    return NO_KERNEL_IMAGE


def test_an_image_without_ipykernel_falls_back_and_says_what_it_lacks(make_executor, image_without_ipykernel) -> None:
    """Two lines, one job each: at the start, what the image lacks and the build command; then the fallback."""
    notices: list[str] = []
    settings = docker_settings(image=image_without_ipykernel, pull=False)
    with make_executor(settings, stateful=True, on_notice=notices.append) as ex:
        first = run_code(ex, "x = 1\nprint('ran')")
        second = run_code(ex, "print('x' in globals())")
    assert (first.output, second.output) == ("ran\n", "False\n")
    assert not ex.stateful
    lacks, fallback = notices
    assert "has no" in lacks and "ipykernel" in lacks and "autorun image build" in lacks
    assert "No module named 'ipykernel'" in fallback and "executor.setup" in fallback


def test_close_removes_the_socket_directory(make_executor) -> None:
    with make_executor(stateful=True) as ex:
        run_code(ex, "print(1)")
        assert ex._kernel is not None
        directory: Path = ex._kernel.host.dirs().sockets
        assert oct(directory.stat().st_mode & 0o777) == "0o700"
        assert oct(directory.parent.stat().st_mode & 0o777) == "0o700"
    assert not directory.parent.exists()


def test_a_kernel_killed_for_memory_is_reported_as_such_and_restarted(make_executor) -> None:
    with make_executor(docker_settings(memory="256m", pull=False), stateful=True) as ex:
        run_code(ex, "kept = 1")
        bomb = run_code(ex, "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 1024 * 1024))")
        after = run_code(ex, "print('kept' in globals())")
    assert bomb.exit_code == 137
    assert bomb.output == f"killed: out of memory (limit 256 MiB)\n{STATE_LOST}\n"
    assert after.output == "False\n"


def test_a_block_signalling_its_parent_does_not_stop_the_agent(make_executor) -> None:
    with make_executor(stateful=True) as ex:
        run_code(ex, "import os, signal\nkept = 1\nos.kill(os.getppid(), signal.SIGTERM)")
        after = run_code(ex, "print(kept)")
    assert after.output == "1\n"


def test_a_start_that_fails_in_the_background_fails_the_first_block(make_executor) -> None:
    from autorun.errors import ExecutorError

    with make_executor(docker_settings(image="autorun-no-such-image:0", pull=False), stateful=True) as ex:
        ex.warm_up()
        with pytest.raises(ExecutorError, match="not present locally"):
            run_code(ex, "print(1)", runs=False)


def test_quiet_blocks_are_counted_from_the_host_and_a_later_blocks_leftover_still_dies(make_executor) -> None:
    from autorun.executors.docker.agent import parse_keys

    with make_executor(stateful=True) as ex:
        run_code(ex, "x = 1")
        run_code(ex, "x += 1")
        seen = ex._processes  # the container's pids cgroup on this host (a local engine)
        assert seen is not None
        from_host = seen.tasks_if_only_known()
        from_agent = int(parse_keys(ex._agent_says("tasks", "-"))["tasks"])
        run_code(ex, "import subprocess\np = subprocess.Popen(['sleep', '300'])")
        wait = (
            "import time\nt = time.monotonic()\nwhile p.poll() is None and time.monotonic() - t < 5:\n"
            "    time.sleep(0.01)\n"
        )
        result = run_code(ex, wait + "print(p.returncode == -9, x)")
    assert from_host == from_agent
    assert result.output == "True 2\n"
