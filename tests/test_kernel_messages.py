"""The pure parts of the kernel package: connection files, message handling, exit codes."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from autorun.executors.kernel.connection import (
    NotTheKernelsSocket,
    connection_info,
    describe_status,
    link_sockets,
    preload_code,
    write_json,
)
from autorun.executors.kernel.messages import BlockOutput, names_from_expression, strip_ansi, system_exit_code


def test_connection_info_uses_ipc_and_a_fresh_key(tmp_path: Path) -> None:
    first, second = connection_info(str(tmp_path / "k1")), connection_info(str(tmp_path / "k1"))
    assert first["transport"] == "ipc" and first["ip"] == str(tmp_path / "k1")
    assert first["key"] != second["key"] and len(first["key"]) == 64
    path = write_json(tmp_path, "kernel.json", first)
    assert json.loads(path.read_text()) == first and oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_connection_file_replaces_a_planted_symlink_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "kernel-2.json").symlink_to(victim)
    write_json(tmp_path, "kernel-2.json", {"key": "k"})
    assert victim.read_text() == "keep" and not (tmp_path / "kernel-2.json").is_symlink()


def bound(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    return server


def test_sockets_are_linked_into_the_private_dir_and_connected_through_it(tmp_path: Path) -> None:
    shared, links = tmp_path / "shared", tmp_path / "links"
    shared.mkdir()
    links.mkdir()
    assert link_sockets(shared, links, ["k1-1", "k1-2"]) is None  # not bound yet
    servers = [bound(shared / "k1-1"), bound(shared / "k1-2")]
    try:
        assert link_sockets(shared, links, ["k1-1", "k1-2"]) == links
        (shared / "k1-1").unlink()
        other = tmp_path / "host.sock"
        (shared / "k1-1").symlink_to(other)  # a block swaps the socket for a link to a host socket
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(links / "k1-1"))  # still the kernel's own socket
            accepted, _ = servers[0].accept()
            accepted.close()
    finally:
        for server in servers:
            server.close()


@pytest.mark.parametrize("planted", ["symlink", "file", "fifo"])
def test_anything_but_a_socket_where_the_kernel_binds_is_refused(tmp_path: Path, planted: str) -> None:
    shared, links = tmp_path / "shared", tmp_path / "links"
    shared.mkdir()
    links.mkdir()
    target = shared / "k1-1"
    if planted == "symlink":
        target.symlink_to("/run/docker.sock")
    elif planted == "file":
        target.write_text("")
    else:
        os.mkfifo(target)
    with pytest.raises(NotTheKernelsSocket):
        link_sockets(shared, links, ["k1-1"])
    assert list(links.iterdir()) == []


def test_output_keeps_order_and_strips_colour() -> None:
    seen: list[str] = []
    out = BlockOutput(seen.append)
    out.handle({"msg_type": "stream", "content": {"name": "stdout", "text": "a\n"}})
    out.handle({"msg_type": "execute_result", "content": {"data": {"text/plain": "\x1b[31m42\x1b[0m"}}})
    out.handle({"msg_type": "error", "content": {"ename": "E", "traceback": ["\x1b[1mTrace\x1b[0m", "E: x"]}})
    assert out.text() == "a\n42\nTrace\nE: x\n" == "".join(seen)
    assert out.exit_code == 1 and strip_ansi("\x1b[38;5;28;01mok\x1b[39;00m") == "ok"


def test_system_exit_codes_match_a_script() -> None:
    assert [system_exit_code(text) for text in ("3", "", "None", "bye", " 0 ")] == [3, 0, 0, 1, 0]
    assert describe_status(137) == "killed by SIGKILL" and describe_status(3) == "exit code 3"


def test_figure_names_come_back_from_the_user_expression() -> None:
    reply = {"user_expressions": {"figures": {"status": "ok", "data": {"text/plain": "['figure-1-1.png']"}}}}
    assert names_from_expression(reply) == ["figure-1-1.png"]
    assert names_from_expression({"user_expressions": {"figures": {"status": "error"}}}) == []
    assert "find_spec('pandas')" in preload_code(("pandas",))
