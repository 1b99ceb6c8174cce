"""The pure parts of the kernel package: connection files, message handling, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from autorun.kernel.connection import connection_info, describe_status, preload_code, write_json
from autorun.kernel.messages import BlockOutput, names_from_expression, strip_ansi, system_exit_code


def test_connection_info_uses_ipc_and_a_fresh_key(tmp_path: Path) -> None:
    first, second = connection_info(str(tmp_path / "k1")), connection_info(str(tmp_path / "k1"))
    assert first["transport"] == "ipc" and first["ip"] == str(tmp_path / "k1")
    assert first["key"] != second["key"] and len(first["key"]) == 64
    path = tmp_path / "kernel.json"
    write_json(path, first)
    assert json.loads(path.read_text()) == first and oct(path.stat().st_mode & 0o777) == "0o600"


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
