"""The Docker executor, `autorun clean` and `autorun doctor`, against the real Docker engine."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from autorun.codeblocks import CodeBlock
from autorun.config.schema import Config
from autorun.doctor import run_doctor
from autorun.errors import ExecutorError, ExitCode
from tests.docker_fixtures import (
    TEST_IMAGE,
    bridge_gateway,
    docker_settings,
    require_engine,
    run_code,
    session_containers,
)

pytest_plugins = ("tests.docker_fixtures",)
pytestmark = pytest.mark.docker
require_engine()  # one skip for the whole module without an engine (a failure when CI is set)

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "sales.csv"

FIND_SLEEPERS = """
import os
found = []
for pid in os.listdir('/proc'):
    try:
        argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')
    except (OSError, ValueError):
        continue
    if argv[0] == b'sleep' and argv[1:2] and argv[1] in (b'300', b'301', b'302'):
        found.append(pid)
print('sleepers:', found)
"""

COUNT_PROCESSES = (
    "import os\n"
    "states = [open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0] for p in os.listdir('/proc')"
    " if p.isdigit()]\n"
    "print('processes:', sum(state != 'Z' for state in states))\n"
)


# -- the analysis path, mounts and isolation -------------------------------------------------


def test_pandas_block_reads_the_exposed_csv_read_only(make_executor, tmp_path):
    with make_executor() as executor:
        path = executor.expose(SAMPLE)
        assert path == "/workspace/data/sales.csv"
        code = (
            "import pandas as pd\n"
            f"df = pd.read_csv({path!r})\n"
            "print(df.groupby('product')['revenue'].sum().to_dict())\n"
            "try:\n"
            f"    open({path!r}, 'a').write('x')\n"
            "except OSError as exc:\n"
            "    print('append failed:', exc.strerror)\n"
        )
        result = run_code(executor, code)
    assert result.exit_code == 0, result.output
    assert "'Widget Pro': 73300" in result.output and "'Gadget Lite': 17800" in result.output
    assert "append failed: Read-only file system" in result.output
    assert not (tmp_path / "work" / "data").exists(), "the mount point placeholder was left in the work dir"


def test_expose_after_start_is_refused(make_executor):
    with make_executor() as executor:
        executor.start()
        with pytest.raises(ExecutorError, match="before its first block"):
            executor.expose(SAMPLE)


def test_host_environment_is_not_visible(make_executor):
    env = {"OPENAI_API_KEY": "sk-test-secret-4711", "AUTORUN_PROBE": "visible", "PATH": "/host/only/bin"}
    with make_executor(base_env=env, env_passthrough=("AUTORUN_PROBE", "OPENAI_API_KEY")) as executor:
        code = "import os\nprint(sorted(os.environ.items()))\nprint(open('/proc/1/environ', 'rb').read())"
        result = run_code(executor, code)
    assert result.exit_code == 0, result.output
    assert "sk-test-secret-4711" not in result.output
    assert "/host/only/bin" not in result.output
    assert "('AUTORUN_PROBE', 'visible')" in result.output
    assert "('MPLBACKEND', 'Agg')" in result.output and "('HOME', '/tmp')" in result.output
    assert executor.removed_env["OPENAI_API_KEY"] == "sk-test-secret-4711"


def test_host_files_outside_the_work_dir_are_not_reachable(make_executor, tmp_path):
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("host secret")
    with make_executor() as executor:
        executor.start()
        (executor.work_dir / "inside.txt").write_text("work file")
        code = f"print(open('inside.txt').read())\nprint(open({str(outside)!r}).read())"
        result = run_code(executor, code)
    assert "work file" in result.output
    assert result.exit_code == 1 and "FileNotFoundError" in result.output
    assert "host secret" not in result.output


CONNECT = """
import socket
for host in {hosts!r}:
    try:
        socket.create_connection((host, {port}), timeout=3).recv(5)
        print(host, 'connected')
    except OSError as exc:
        print(host, 'blocked', type(exc).__name__)
"""


def test_no_network_to_host_loopback_or_bridge_gateway(make_executor, tcp_server, docker_client):
    gateway = bridge_gateway(docker_client)
    code = CONNECT.format(hosts=["127.0.0.1", gateway], port=tcp_server.port)
    with make_executor() as executor:
        result = run_code(executor, code)
        links = run_code(executor, "import os; print(sorted(os.listdir('/sys/class/net')))")
    assert "127.0.0.1 blocked" in result.output and f"{gateway} blocked" in result.output
    assert links.output.strip() == "['lo']"
    assert tcp_server.accepted == 0
    # Control: the same probe reaches the server when the network is configured on.
    with make_executor(docker_settings(network="bridge")) as executor:
        control = run_code(executor, code)
    assert f"{gateway} connected" in control.output, control.output


def test_root_filesystem_is_read_only_and_tmp_is_writable(make_executor):
    code = (
        "import os\n"
        "print('root read-only:', bool(os.statvfs('/').f_flag & os.ST_RDONLY))\n"
        "open('/tmp/scratch', 'w').write('ok')\n"
        "open('/autorun-probe', 'w')\n"
    )
    with make_executor() as executor:
        result = run_code(executor, code)
    assert "root read-only: True" in result.output
    assert result.exit_code == 1 and "/autorun-probe" in result.output


def test_files_written_in_the_workspace_belong_to_the_host_user(make_executor):
    assert docker_settings().user == f"{os.getuid()}:{os.getgid()}"
    with make_executor() as executor:
        assert run_code(executor, "open('out.txt', 'w').write('x')").exit_code == 0
        stat = (executor.work_dir / "out.txt").stat()
    assert (stat.st_uid, stat.st_gid) == (os.getuid(), os.getgid())


def test_container_runs_as_the_configured_user(make_executor, tmp_path):
    work_dir = tmp_path / "shared"
    work_dir.mkdir(mode=0o777)
    work_dir.chmod(0o777)
    with make_executor(docker_settings(user="4321:4321"), work_dir=work_dir) as executor:
        result = run_code(executor, "import os; print(os.getuid(), os.getgid()); open('o.txt', 'w')")
    assert result.output.strip() == "4321 4321"
    assert (work_dir / "o.txt").stat().st_uid == 4321


# -- timeouts, kills and resource limits -------------------------------------------------------


def test_timeout_kills_every_process_of_the_block_and_the_next_block_runs(make_executor):
    code = (
        "import os, subprocess, time\n"
        "subprocess.Popen(['sleep', '300'])\n"
        "subprocess.Popen(['sleep', '301'], start_new_session=True)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execvp('sleep', ['sleep', '302'])\n"
        "    os._exit(0)\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n"
    )
    with make_executor(timeout=2) as executor:
        result = run_code(executor, code)
        after = run_code(executor, FIND_SLEEPERS)
    assert result.exit_code == 124 and result.timed_out
    assert result.output == "started\ntimed out after 2 s\n"
    assert result.duration_s < 30
    assert after.exit_code == 0 and "sleepers: []" in after.output


def test_background_children_of_a_finished_block_are_killed(make_executor):
    code = "import subprocess\nsubprocess.Popen(['sleep', '300'], start_new_session=True)\nprint('left one')"
    with make_executor() as executor:
        first = run_code(executor, code)
        after = run_code(executor, FIND_SLEEPERS)
    assert first.exit_code == 0 and first.output == "left one\n"
    assert "sleepers: []" in after.output


def test_memory_bomb_is_killed_and_reported(make_executor):
    with make_executor(docker_settings(memory="64m")) as executor:
        bomb = run_code(executor, "data = b'x' * (512 * 1024 * 1024)\nprint('survived')")
        plain_kill = run_code(executor, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
        after = run_code(executor, "print('still usable')")
    assert bomb.exit_code == 137
    assert bomb.output.endswith("killed: out of memory (limit 64 MiB)\n")
    assert plain_kill.exit_code == 137 and "out of memory" not in plain_kill.output
    assert after.output == "still usable\n"


def test_fork_bomb_hits_the_process_limit_and_the_session_continues(make_executor):
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    with make_executor(docker_settings(pids_limit=64), timeout=3) as executor:
        result = run_code(executor, bomb)
        after = run_code(executor, COUNT_PROCESSES)
    assert result.exit_code == 124 and result.timed_out
    assert after.exit_code == 0
    # init, the agent, this block, its timer shell and the timer's sleep (zombies are init's to reap)
    assert after.output.strip() == "processes: 5"


def test_max_file_size_is_enforced(make_executor):
    code = "open('big.bin', 'wb').write(b'x' * (2 * 1024 * 1024))"
    with make_executor(docker_settings(max_file_size=1024 * 1024)) as executor:
        result = run_code(executor, code)
    assert result.exit_code == 1 and "File too large" in result.output


def test_a_block_that_stops_its_agent_is_still_timed_out(make_executor):
    code = "import os, signal, time\nos.kill(os.getppid(), signal.SIGSTOP)\ntime.sleep(300)"
    with make_executor(timeout=2) as executor:
        result = run_code(executor, code)
        after = run_code(executor, "import os, signal\nos.kill(os.getppid(), signal.SIGTERM)\nprint('ok')")
        again = run_code(executor, "print('next')")
    assert result.exit_code == 124 and result.timed_out
    assert after.output == "ok\n" and again.output == "next\n"


def test_an_interrupted_block_is_stopped_and_the_container_stays_usable(make_executor):
    code = "import time\nprint('running', flush=True)\ntime.sleep(60)\nprint('late')"

    def ctrl_c(text: str) -> None:
        if "running" in text:
            raise KeyboardInterrupt

    with make_executor() as executor:
        executor.interrupt()  # nothing running: nothing to do
        with pytest.raises(KeyboardInterrupt):
            executor.run(CodeBlock("python", code, 0), ctrl_c)
        executor.interrupt()
        counted = run_code(executor, COUNT_PROCESSES)
        with pytest.raises(KeyboardInterrupt):
            executor.run(CodeBlock("python", code, 0), ctrl_c)
        after = run_code(executor, "print('next')")  # no interrupt() call: run() stops the old block
    assert counted.output == "processes: 5\n"
    assert after.output == "next\n"


def test_output_streams_live_while_the_block_runs(make_executor):
    code = (
        "import os, time\n"
        "print('ready', flush=True)\n"
        "for _ in range(400):\n"
        "    if os.path.exists('go'):\n"
        "        print('saw go'); break\n"
        "    time.sleep(0.05)\n"
        "else:\n"
        "    print('never saw go')\n"
    )
    with make_executor() as executor:
        executor.start()

        def on_output(text: str) -> None:
            if "ready" in text:
                (executor.work_dir / "go").touch()

        result = executor.run(CodeBlock("python", code, 0), on_output)
    assert result.output == "ready\nsaw go\n"


def test_output_order_binary_and_exit_codes(make_executor):
    code = (
        "import sys\n"
        "print('out 1', flush=True)\n"
        "print('err 1', file=sys.stderr, flush=True)\n"
        "sys.stdout.buffer.write(b'bad \\xff\\x00 bytes\\n'); sys.stdout.flush()\n"
        "sys.exit(3)\n"
    )
    with make_executor() as executor:
        result = run_code(executor, code)
        shell = run_code(executor, "echo from sh; exit 5", "sh")
    assert result.exit_code == 3
    assert result.output == "out 1\nerr 1\nbad \ufffd\x00 bytes\n"
    assert (shell.exit_code, shell.output) == (5, "from sh\n")


def test_filename_directive_and_unknown_language(make_executor):
    with make_executor() as executor:
        named = run_code(executor, "# filename: sub/hello.py\nprint('hi')")
        refused = run_code(executor, "# filename: ../escape.py\nprint('no')", runs=False)
        unknown = run_code(executor, "x", "ruby", runs=False)
        assert (executor.work_dir / "sub" / "hello.py").exists()
    assert named.output == "hi\n"
    assert refused.exit_code == 1 and "refused" in refused.output
    assert unknown.exit_code == 1 and "supported languages are python, sh" in unknown.output


def test_a_symlink_planted_by_a_block_is_never_followed_by_the_host(make_executor, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    next_block = "print('second block')"
    digest = hashlib.sha256(next_block.encode()).hexdigest()[:16]
    plant = f"import os\nos.symlink({str(victim)!r}, 'tmp_code_{digest}.py')\nos.symlink('/', 'sub')"
    with make_executor() as executor:
        assert run_code(executor, plant).exit_code == 0
        second = run_code(executor, next_block)
        named = run_code(executor, "# filename: sub/escape.py\nprint('x')", runs=False)
    assert victim.read_text() == "precious"
    assert second.output == "second block\n"
    assert named.exit_code == 1 and "refused" in named.output
    (executor.work_dir / "data").symlink_to(tmp_path)
    later = make_executor(work_dir=executor.work_dir)
    later.expose(SAMPLE)
    with pytest.raises(ExecutorError, match="is a symlink"):
        later.start()
    assert not (tmp_path / "sales.csv").exists()


# -- images, setup packages --------------------------------------------------------------------


def test_unknown_image_fails_with_how_to_get_one(make_executor):
    notices: list[str] = []
    executor = make_executor(docker_settings(image="autorun-test/no-such-image:never"), on_notice=notices.append)
    with pytest.raises(ExecutorError) as caught:
        run_code(executor, "print(1)")
    message = str(caught.value)
    assert "autorun-test/no-such-image:never" in message and "docker load" in message
    assert caught.value.exit_code == ExitCode.EXECUTOR
    assert any("pulling" in notice for notice in notices)

    no_pull = make_executor(docker_settings(image="autorun-test/no-such-image:never", pull=False))
    with pytest.raises(ExecutorError, match="pulling is disabled"):
        no_pull.start()


@pytest.fixture(scope="module")
def derived_images(docker_client) -> Iterator[dict[str, str]]:
    """Images made from the test image: one with only `python`, one without any Python."""
    scripts = {
        "autorun-test/only-python:1": "mv /usr/bin/python3.11 /usr/bin/python && rm /usr/bin/python3",
        "autorun-test/no-python:1": "rm /usr/bin/python3 /usr/bin/python3.11",
    }
    for tag, script in scripts.items():
        container = docker_client.containers.run(TEST_IMAGE, ["sh", "-c", script], detach=True)
        container.wait()
        repository, version = tag.split(":")
        container.commit(repository=repository, tag=version)
        container.remove(force=True)
    yield {"only-python": "autorun-test/only-python:1", "no-python": "autorun-test/no-python:1"}
    for tag in scripts:
        docker_client.images.remove(tag, force=True)


def test_python_interpreter_is_detected(make_executor, derived_images):
    with make_executor(docker_settings(image=derived_images["only-python"])) as executor:
        result = run_code(executor, "import sys; print(sys.executable)")
    assert result.output.strip() == "/usr/bin/python"
    executor = make_executor(docker_settings(image=derived_images["no-python"]))
    with pytest.raises(ExecutorError, match="has no python3 or python"):
        executor.start()


def build_wheel(directory: Path) -> Path:
    files = {
        "autorun_probe/__init__.py": b"VALUE = 'probe package works'\n",
        "autorun_probe-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: autorun-probe\nVersion: 1.0\n",
        "autorun_probe-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: autorun-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("autorun_probe-1.0.dist-info/RECORD,,")
    wheel = directory / "autorun_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("autorun_probe-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def test_setup_packages_are_installed_then_the_network_is_gone(make_executor, docker_client, tmp_path):
    wheel_dir = tmp_path / "index"
    wheel_dir.mkdir()
    wheel = build_wheel(wheel_dir)
    gateway = bridge_gateway(docker_client)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(wheel_dir))
    server = http.server.ThreadingHTTPServer((gateway, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    requirement = f"autorun-probe @ http://{gateway}:{port}/{wheel.name}"
    notices: list[str] = []
    try:
        with make_executor(docker_settings(setup=(requirement,)), on_notice=notices.append) as executor:
            imported = run_code(executor, "import autorun_probe; print(autorun_probe.VALUE)")
            network = run_code(executor, CONNECT.format(hosts=[gateway], port=port))
            links = run_code(executor, "import os; print(sorted(os.listdir('/sys/class/net')))")
    finally:
        server.shutdown()
        server.server_close()
    assert imported.output == "probe package works\n", imported.output
    assert f"{gateway} blocked" in network.output
    assert links.output.strip() == "['lo']"
    assert any("installing setup packages" in notice for notice in notices)


def test_failing_setup_is_an_executor_error(make_executor):
    executor = make_executor(docker_settings(setup=("/nonexistent/autorun_missing-1.0-py3-none-any.whl",)))
    with pytest.raises(ExecutorError, match=r"Installing executor\.setup packages"):
        executor.start()


# -- engine problems and cleanup -----------------------------------------------------------------


class SocketProxy:
    """A unix-socket proxy in front of the engine, so a test can make the engine vanish."""

    def __init__(self, path: Path, target: str = "/var/run/docker.sock") -> None:
        self.target = target
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)  # pass the end on: a `docker exec` stream ends with it
        except OSError:
            pass

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.server.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def test_engine_dying_mid_block_is_an_executor_error_and_the_container_goes_by_itself(
    make_executor, docker_client, tmp_path
):
    proxy = SocketProxy(tmp_path / "engine.sock")
    notices: list[str] = []
    executor = make_executor(
        base_env={"DOCKER_HOST": f"unix://{tmp_path}/engine.sock"}, on_notice=notices.append, timeout=3
    )
    assert run_code(executor, "print('before')").output == "before\n"

    def on_output(text: str) -> None:
        if "running" in text:
            proxy.kill()

    block = CodeBlock("python", "import time\nprint('running', flush=True)\ntime.sleep(300)", 1)
    with pytest.raises(ExecutorError, match="Lost the Docker engine while a block was running"):
        executor.run(block, on_output)
    executor.close()
    assert any("autorun clean" in notice for notice in notices)
    assert session_containers(docker_client, executor.session_id), "expected the crashed session's container"
    # The engine closed the agent's stdin with the connection: once the block times out, the
    # agent exits and the engine removes the container.
    assert wait_until_gone(docker_client, executor.session_id, within_s=30)


def wait_until_gone(client: Any, session_id: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while session_containers(client, session_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not session_containers(client, session_id)


def test_container_killed_from_outside_is_an_executor_error(make_executor, docker_client):
    executor = make_executor()

    def on_output(text: str) -> None:
        if "running" in text:
            docker_client.containers.get(executor.container_name).kill()

    block = CodeBlock("python", "import time\nprint('running', flush=True)\ntime.sleep(20)", 3)
    with pytest.raises(ExecutorError, match="was stopped from outside while block 3 was running"):
        executor.run(block, on_output)
    executor.close()


def test_a_block_that_kills_its_agent_ends_the_session_cleanly(make_executor):
    executor = make_executor()
    with pytest.raises(ExecutorError, match=r"The running block stopped the Docker container .*killed its agent"):
        run_code(executor, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    executor.close()


def test_close_removes_the_container_and_is_idempotent(make_executor, docker_client):
    executor = make_executor()
    run_code(executor, "print(1)")
    assert len(session_containers(docker_client, executor.session_id)) == 1
    executor.close()
    executor.close()
    assert not session_containers(docker_client, executor.session_id)
    with pytest.raises(ExecutorError, match="closed"):
        executor.run(CodeBlock("python", "print(1)", 0), lambda _text: None)


SURVIVOR = """
import sys, time
from pathlib import Path
from autorun.codeblocks import CodeBlock
from autorun.config.schema import ExecutorConfig
from autorun.executors.docker.executor import DockerExecutor
from autorun.session.executor_settings import docker_settings
executor = DockerExecutor(Path(sys.argv[1]), 5, docker_settings(ExecutorConfig()), session_id=sys.argv[2], base_env={})
executor.run(CodeBlock("python", "print(1)", 0), lambda _text: None)
print("started", flush=True)
time.sleep(300)
"""


def test_container_removes_itself_when_autorun_is_killed(session_ids, docker_client, tmp_path):
    session_id = session_ids()
    process = subprocess.Popen(
        [sys.executable, "-c", SURVIVOR, str(tmp_path / "work"), session_id],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stdout is not None and process.stdout.readline() == "started\n"
    assert session_containers(docker_client, session_id)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert wait_until_gone(docker_client, session_id, within_s=30)


def test_clean_removes_only_containers_of_dead_owners(docker_client, session_ids, tmp_path):
    from autorun.executors.leftovers import OWNER_LABEL, clean, find_leftovers
    from autorun.executors.owner import Owner, current_owner

    me = current_owner()
    dead = Owner(me.pid, me.start + 1, me.scope)  # the same pid, started at another time: reused
    made = {}
    for name, owner in (("dead", dead), ("live", me)):
        labels = {"autorun": "1", "autorun.session": session_ids(), OWNER_LABEL: owner.tag}
        made[name] = docker_client.containers.run(TEST_IMAGE, ["sleep", "300"], labels=labels, detach=True, init=True)
    unrelated = docker_client.containers.run(TEST_IMAGE, ["sleep", "300"], detach=True, init=True)
    try:
        items, notes = find_leftovers(client=docker_client, tmp_root=tmp_path, mounts=[], owner_pid=me.pid)
        assert notes == [] and sorted(item.state for item in items) == ["dead", "live"]
        report = clean(items, notes)
        assert [item.where for item in report.removed] == [made["dead"].name]
        for container in (made["live"], unrelated):
            container.reload()
            assert container.status == "running"
    finally:
        for container in (made["live"], made["dead"], unrelated):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


# -- doctor -------------------------------------------------------------------------


def test_doctor_all_green_with_engine_image_and_key(docker_client):
    config = Config.model_validate({"executor": {"type": "docker", "image": TEST_IMAGE}})
    checks = run_doctor(config, env={"OPENAI_API_KEY": "sk-x"})
    assert [check.name for check in checks] == [
        "Python",
        "Sandbox (bwrap)",
        "Memory limit",
        "Disk",
        "Session record",
        "Docker engine",
        f"Default image {TEST_IMAGE}",
        "API key $OPENAI_API_KEY",
    ]
    assert all(check.status == "ok" for check in checks), checks


def test_doctor_reaches_a_configured_endpoint_and_flags_a_missing_image(docker_client):
    class Models(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/v1/models" else 404)
            self.end_headers()
            self.wfile.write(b'{"data": []}')

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    config = Config.model_validate(
        {"executor": {"type": "docker", "image": "autorun-test/no-such-image:never"}, "model": {"base_url": base_url}}
    )
    try:
        checks = {check.name: check for check in run_doctor(config, env={})}
    finally:
        server.shutdown()
        server.server_close()
    assert checks["Model endpoint"].status == "ok" and "HTTP 200" in checks["Model endpoint"].detail
    image = checks["Default image autorun-test/no-such-image:never"]
    assert image.status == "warn" and "docker build" in image.fix
