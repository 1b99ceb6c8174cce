"""`autorun chat` end to end: a real pseudo-terminal (pexpect), the real CLI, the fake OpenAI server."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from autorun.chat import run_chat
from autorun.codeblocks import CodeBlock
from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.prompts import EDITED_NOTE, NOT_RUN_NOTE
from autorun.session.factory import check_inputs, described
from autorun.session.loop import NUDGE
from autorun.session.terminal import (
    HISTORY_LENGTH,
    QUIT_PROMPT,
    RUN_PROMPT,
    ChatHuman,
    EndChat,
    Terminal,
    TerminalHuman,
    load_history_file,
    save_history_file,
)
from autorun.transcripts.resume import load_history
from tests.conftest import SAMPLE, autorun_cmd, transcripts
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted import RecordingSink

PROMPT = "you> "
MODEL = "fake-analyst"


def py(code: str, text: str = "Here is the next step.") -> str:
    return f"{text}\n\n```python\n{code}\n```\n"


def sh(code: str, text: str = "Here is the next step.") -> str:
    return f"{text}\n\n```sh\n{code}\n```\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def chat_env(clean_env: dict[str, str], home: Path) -> dict[str, str]:
    env = {k: v for k, v in clean_env.items() if k not in ("EDITOR", "VISUAL", "XDG_STATE_HOME")}
    env.update(HOME=str(home), NO_COLOR="1", TERM="xterm", PYTHONUNBUFFERED="1")
    env["AUTORUN_STATE_DIR"] = str(home / ".local" / "state" / "autorun")  # this chat's own history and record
    return env


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "work"


def serve(steps: list[dict]) -> FakeOpenAIServer:
    return FakeOpenAIServer(steps).start()


@pytest.fixture
def server_factory() -> Iterator:
    servers: list[FakeOpenAIServer] = []

    def make(steps: list[dict]) -> FakeOpenAIServer:
        servers.append(serve(steps))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def spawn_chat(server: FakeOpenAIServer, work: Path, env: dict[str, str], *extra: str) -> pexpect.spawn:
    args = ["-m", "autorun", "chat", str(SAMPLE), "--model", MODEL, "--base-url", server.base_url]
    args += ["--work-dir", str(work), *extra]
    child = pexpect.spawn(
        sys.executable, args, env=env, cwd=str(work.parent), encoding="utf-8", timeout=60, dimensions=(50, 200)
    )
    child.logfile_read = io.StringIO()
    return child


def screen(child: pexpect.spawn) -> str:
    return child.logfile_read.getvalue()


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)


def last_user(server: FakeOpenAIServer, request: int) -> str:
    return server.chat_requests[request]["body"]["messages"][-1]["content"]


def editor_script(tmp_path: Path, command: str) -> Path:
    path = tmp_path / "editor.sh"
    path.write_text(f'#!/bin/sh\n{command} "$1"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_always_mode_approve_reject_edit_interrupt_exit(tmp_path, work, chat_env, server_factory) -> None:
    server = server_factory(
        [
            {"reply": py("print('APPROVED', 6 * 7)")},
            {"reply": sh("touch rejected.txt", "Now I will create a file.")},
            {"reply": sh("echo ORIGINAL-$((2 + 3))", "Edit me.")},
            {"reply": sh("echo started-$((4 * 5))\nsleep 30", "A slow step.")},
            {"reply": "Stopped as you asked.\n\nTERMINATE"},
        ]
    )
    chat_env["EDITOR"] = str(editor_script(tmp_path, "sed -i s/ORIGINAL/EDITED/"))
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("please analyse the sales")
    child.expect_exact("--- python block 1 ---\r\nprint('APPROVED', 6 * 7)\r\n")
    child.expect_exact(RUN_PROMPT)
    child.sendline("y")
    child.expect_exact("APPROVED 42")
    child.expect_exact(RUN_PROMPT)
    child.sendline("n")
    child.expect_exact("not run: block 2")
    child.expect_exact(PROMPT)
    child.sendline("no files please")
    child.expect_exact(RUN_PROMPT)
    child.sendline("e")
    child.expect_exact("Block 3 as edited:\r\n--- sh block 3 ---\r\necho EDITED-$((2 + 3))")
    child.expect_exact(RUN_PROMPT)
    child.sendline("y")
    child.expect_exact("EDITED-5")
    child.expect_exact(RUN_PROMPT)
    child.sendline("")
    child.expect_exact("started-20")
    child.sendintr()
    child.expect_exact("interrupted by the user (Ctrl-C)")
    child.expect_exact("Stopped as you asked.")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    shown = screen(child)
    assert shown.count("touch rejected.txt") == 1, "each block is shown once, before the question"
    assert shown.count("print('APPROVED', 6 * 7)") == 1

    requests = server.chat_requests
    assert len(requests) == 5
    assert requests[0]["body"]["messages"][0]["role"] == "system"
    assert str(SAMPLE) in requests[0]["body"]["messages"][0]["content"]
    assert last_user(server, 0) == "please analyse the sales"
    assert last_user(server, 1).startswith("exitcode: 0 (execution succeeded)")
    assert "APPROVED 42" in last_user(server, 1)
    assert last_user(server, 2) == NOT_RUN_NOTE + "\n\nno files please"
    assert not (work / "rejected.txt").exists()
    assert "EDITED-5" in last_user(server, 3) and "ORIGINAL" not in last_user(server, 3)
    assert last_user(server, 4).startswith("exitcode: 130 (execution failed)")
    assert "started-20" in last_user(server, 4)


def test_inline_edit_without_editor_and_a_typed_reply(work, chat_env, server_factory) -> None:
    server = server_factory(
        [
            {"reply": sh("echo ORIGINAL\necho second-line", "Edit me.")},
            {"reply": py("print('never run')")},
            {"reply": "Fine, median it is.\n\nTERMINATE"},
        ]
    )
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("go")
    child.expect_exact(RUN_PROMPT)
    child.sendline("e")
    child.expect_exact("  1| ")
    child.send("\x15echo INLINE-$((3 + 4))\r")  # Ctrl-U clears the pre-filled line
    child.expect_exact("  2| ")
    child.send("\r")  # keep the second line as it was
    child.expect_exact("  3| ")
    child.sendline(".")
    child.expect_exact(RUN_PROMPT)
    child.sendline("y")
    child.expect_exact("INLINE-7")
    child.expect_exact(RUN_PROMPT)
    child.sendline("use the median instead")
    child.expect_exact("Fine, median it is.")
    child.expect_exact(PROMPT)
    child.sendeof()
    assert finish(child) == 0, screen(child)
    assert "Code output:\nINLINE-7\nsecond-line\n" in last_user(server, 1)
    assert last_user(server, 1).endswith("```sh\necho INLINE-$((3 + 4))\necho second-line\n```\n")
    assert last_user(server, 2) == "use the median instead"
    assert not list(work.glob("tmp_code_*.py")), "the python block must not have run"
    (transcript,) = transcripts(work, chat_env)
    blocks = [json.loads(line) for line in transcript.read_text().splitlines()]
    blocks = [(b["index"], b["will_run"], b["code"]) for b in blocks if b["event"] == "code_block"]
    assert blocks == [(1, True, "echo INLINE-$((3 + 4))\necho second-line\n"), (2, False, "print('never run')\n")]


def test_terminate_mode_runs_code_and_asks_only_at_the_end(work, chat_env, server_factory) -> None:
    server = server_factory(
        [
            {"reply": "Let me think about it."},
            {"reply": py("print('AUTO', 2 + 2)")},
            {"reply": "The answer is 4.\n\nTERMINATE"},
            {"reply": "Still 4.\n\nTERMINATE"},
        ]
    )
    child = spawn_chat(server, work, chat_env, "--human-input-mode", "TERMINATE")
    child.expect_exact(PROMPT)
    child.sendline("what is 2 + 2?")
    child.expect_exact("AUTO 4")
    child.expect_exact("The answer is 4.")
    child.expect_exact(PROMPT)
    child.sendline("and again?")
    child.expect_exact("Still 4.")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    assert "Run it?" not in screen(child)
    assert last_user(server, 1) == NUDGE.format(keyword="TERMINATE")
    assert last_user(server, 2).startswith("exitcode: 0") and "AUTO 4" in last_user(server, 2)
    assert last_user(server, 3) == "and again?"
    assert [m["content"] for m in server.chat_requests[3]["body"]["messages"]].count("what is 2 + 2?") == 1


def test_never_mode_from_the_environment_stops_at_the_turn_limit_and_goes_on(work, chat_env, server_factory) -> None:
    server = server_factory(
        [
            {"reply": sh("echo one")},
            {"reply": sh("echo two")},
            {"reply": "Done.\n\nTERMINATE"},
        ]
    )
    chat_env["AUTORUN_SESSION_HUMAN_INPUT_MODE"] = "NEVER"
    chat_env["AUTORUN_SESSION_MAX_CONSECUTIVE_AUTO_REPLY"] = "1"
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("count")
    child.expect_exact("reached max_consecutive_auto_reply (1)")
    child.expect_exact(PROMPT)
    child.sendline("go on")
    child.expect_exact("Done.")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    assert "Run it?" not in screen(child)
    assert "exitcode: 0" in last_user(server, 1) and "one" in last_user(server, 1)
    assert last_user(server, 2).startswith("go on")


def test_ctrl_c_at_the_prompt_asks_before_quitting(work, chat_env, server_factory) -> None:
    server = server_factory([])
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendintr()
    child.expect_exact(QUIT_PROMPT)
    child.sendline("n")
    child.expect_exact(PROMPT)
    child.sendintr()
    child.expect_exact(QUIT_PROMPT)
    child.sendline("y")
    assert finish(child) == 130, screen(child)
    assert server.chat_requests == []
    found = transcripts(work, chat_env)
    end = json.loads(found[0].read_text().splitlines()[-2])
    assert end["event"] == "session_end" and end["exit_code"] == 130


def test_ctrl_c_while_the_assistant_streams_returns_to_the_prompt(work, chat_env, server_factory) -> None:
    server = server_factory(
        [
            {"fault": "slow", "reply": "First line.\nThen a long stall", "after_chunks": 3, "delay": 25},
            {"reply": "Short answer.\n\nTERMINATE"},
        ]
    )
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("tell me a story")
    child.expect_exact("First line.")
    child.sendintr()
    child.expect_exact("stopped: type a new request, or /exit")
    child.expect_exact(PROMPT)
    child.sendline("shorter please")
    child.expect_exact("Short answer.")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    messages = server.chat_requests[1]["body"]["messages"]
    assert messages[-2]["role"] == "assistant" and messages[-2]["content"] == "First line.\n"
    assert messages[-1]["content"] == "shorter please"


def test_multi_line_input_history_and_rich_output(tmp_path, work, chat_env, server_factory) -> None:
    server = server_factory(
        [
            {"reply": py("print('RICH', 'OUTPUT')")},
            {"reply": "ok\n\nTERMINATE"},
            {"reply": "pasted ok\n\nTERMINATE"},
            {"reply": "again ok\n\nTERMINATE"},
        ]
    )
    del chat_env["NO_COLOR"]
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("first line \\")
    child.expect_exact("...> ")
    child.sendline("second line")
    child.expect_exact(RUN_PROMPT)
    child.sendline("y")
    child.expect_exact("OUTPUT")
    child.expect_exact(PROMPT)
    child.send("\x1b[200~alpha\nbeta\x1b[201~\r")
    child.expect_exact("pasted ok")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    assert last_user(server, 0) == "first line \nsecond line"
    assert last_user(server, 2) == "alpha\nbeta"
    assert "\x1b[" in screen(child), "a terminal gets Rich output"
    history = tmp_path / "home" / ".local" / "state" / "autorun" / "history"
    assert "alpha" in history.read_text()

    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.send("\x1b[A\r")  # Up: the newest entry, the pasted request
    child.expect_exact("again ok")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    assert last_user(server, 3) == "alpha\nbeta"


def test_resume_continues_with_the_history_without_rerunning_code(work, clean_env, home, server_factory) -> None:
    first = server_factory(
        [
            {"reply": py("open('count.txt', 'a').write('x')\nprint('RAN')")},
            {"reply": "Answer one.\n\nTERMINATE"},
        ]
    )
    config = Config.model_validate(
        {
            "model": {"name": MODEL, "base_url": first.base_url},
            "executor": {"work_dir": str(work)},
            "session": {"human_input_mode": "NEVER"},
        }
    )
    out = io.StringIO()
    human = ChatHuman("NEVER", Terminal(io.StringIO("first question\n/exit\n"), out))
    outcome = run_chat(config, [SAMPLE], display=RecordingSink(), human=human, env=clean_env)
    assert outcome.exit_code == 0
    assert (work / "count.txt").read_text() == "x"
    (transcript,) = transcripts(work)

    second = server_factory([{"reply": "Answer two.\n\nTERMINATE"}])
    env = clean_env | {"HOME": str(home), "NO_COLOR": "1"}
    proc = subprocess.run(
        autorun_cmd(
            "chat",
            "--resume",
            str(transcript),
            "--model",
            MODEL,
            "--base-url",
            second.base_url,
            "--work-dir",
            str(work),
            "--human-input-mode",
            "NEVER",
        ),
        input="second question\n/exit\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Answer two." in proc.stdout
    assert f"resumed 4 messages from {transcript}" in proc.stderr
    messages = second.chat_requests[0]["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert str(SAMPLE) in messages[0]["content"], "the earlier session's data file is described again"
    assert messages[1]["content"] == "first question"
    assert messages[3]["content"].startswith("exitcode: 0") and "RAN" in messages[3]["content"]
    assert messages[-1]["content"] == "second question"
    assert (work / "count.txt").read_text() == "x", "resuming must not re-run earlier code"

    newest = max(transcripts(work), key=os.path.getmtime)
    assert newest != transcript
    resumed = load_history(newest)
    assert resumed.messages[0].content == "first question"
    assert resumed.messages[-1].content.startswith("Answer two.")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"hello": "world"}\n', "holds no autorun events; give the .jsonl transcript of a session"),
        (
            '{"event": "notice", "text": "hi"}\n',
            "holds no messages to resume; give the transcript of an earlier session",
        ),
    ],
)
def test_resume_of_a_file_that_is_not_a_transcript_is_a_usage_error(tmp_path, work, clean_env, content, why) -> None:
    bogus = tmp_path / "notes.jsonl"
    bogus.write_text(content)
    proc = subprocess.run(
        autorun_cmd("chat", "--resume", str(bogus), "--model", "builtin", "--work-dir", str(work)),
        input="",
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"autorun: error: {bogus} {why}"


def test_builtin_without_a_file_says_it_needs_one(work, clean_env) -> None:
    proc = subprocess.run(
        autorun_cmd("chat", "--model", "builtin", "--work-dir", str(work)),
        input="hello\n",
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "the builtin analyst needs a data file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="builtin analyst needs a data file"):
        run_chat(
            Config.model_validate({"model": {"name": "builtin"}, "executor": {"work_dir": str(work)}}),
            [],
            display=RecordingSink(),
            human=ChatHuman("NEVER", Terminal(io.StringIO(""), io.StringIO())),
            env=clean_env,
        )


def test_builtin_chat_works_offline_from_piped_input(work, clean_env) -> None:
    proc = subprocess.run(
        autorun_cmd("chat", str(SAMPLE), "--model", "builtin", "--work-dir", str(work), "--human-input-mode", "NEVER"),
        input="summarise the sales\n/exit\n",
        env=clean_env | {"NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "73,300" in proc.stdout and "31,800" in proc.stdout
    assert "status:     ended (exit code 0)" in proc.stdout


def test_model_errors_are_shown_and_the_chat_goes_on(work, clean_env, server_factory) -> None:
    server = server_factory([{"fault": "401"}, {"reply": "Recovered.\n\nTERMINATE"}])
    proc = subprocess.run(
        autorun_cmd("chat", str(SAMPLE), "--model", MODEL, "--base-url", server.base_url, "--work-dir", str(work)),
        input="first try\nsecond try\n",
        env=clean_env | {"NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "authentication failed" in proc.stderr
    assert "Recovered." in proc.stdout
    assert last_user(server, 1) == "second try"


def test_history_file_keeps_multi_line_entries_and_backslashes(tmp_path) -> None:
    entries = ["plain", "two\nlines", "ends with \\", "a \\n literal", "\\\nmixed\\\\n"]
    path = tmp_path / "state" / "history"
    save_history_file(path, entries)
    assert load_history_file(path) == entries
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    save_history_file(path, [f"entry {n}" for n in range(HISTORY_LENGTH + 5)])
    kept = load_history_file(path)
    assert len(kept) == HISTORY_LENGTH and kept[-1] == f"entry {HISTORY_LENGTH + 4}"


class _StoppableExecutor:
    """Prints, then gets Ctrl-C mid-block; records how it was stopped."""

    name = "stoppable"
    executes = True
    running_code_file = None

    def __init__(self) -> None:
        self.calls: list[str] = []

    def interrupt(self) -> None:
        self.calls.append("interrupt")

    def run(self, block, on_output):
        on_output("partial output")
        raise KeyboardInterrupt

    def peak_memory(self) -> None:
        return None

    def close(self) -> None:
        self.calls.append("close")


def test_ctrl_c_in_a_block_becomes_exit_130_when_blocks_are_interruptible() -> None:
    from autorun.session.loop import Session
    from tests.scripted import ScriptedModel

    model = ScriptedModel([py("import time; time.sleep(60)"), "Stopped.\n\nTERMINATE"])
    executor = _StoppableExecutor()
    session = Session(model, executor, RecordingSink(), interruptible_blocks=True)
    status, _reason, final = session.exchange("go")
    assert (status, final) == ("terminated", "Stopped.\n\nTERMINATE")
    assert executor.calls == ["interrupt"]  # only the block stops: every executor has interrupt()
    sent = model.seen[1][-1].content
    assert sent == "exitcode: 130 (execution failed)\nCode output:\npartial output\ninterrupted by the user (Ctrl-C)\n"


def test_without_interruptible_blocks_ctrl_c_in_a_block_ends_the_session() -> None:
    from autorun.session.loop import Session
    from tests.scripted import ScriptedModel

    sink = RecordingSink()
    session = Session(ScriptedModel([py("x = 1")]), _StoppableExecutor(), sink)
    assert session.run("go").exit_code == 130
    assert sink.kinds()[-2:] == ["interrupted", "session_end"]


def test_restored_code_is_never_run_again_and_blocks_are_numbered_on(tmp_path) -> None:
    from autorun.executors.local.executor import LocalExecutor
    from autorun.models.base import Message
    from autorun.session.loop import Session
    from tests.scripted import ScriptedModel

    model = ScriptedModel(["Nothing new to run.\n\nTERMINATE", py("print('new')"), "Done.\n\nTERMINATE"])
    sink = RecordingSink()
    session = Session(model, LocalExecutor(tmp_path, timeout=10), sink)
    earlier = [Message("user", "q1"), Message("assistant", py("open('again.txt', 'w')"))]
    session.restore(earlier, blocks_seen=7)
    assert session.exchange("q2")[0] == "terminated"
    assert session.exchange("q3")[0] == "terminated"
    assert not (tmp_path / "again.txt").exists()
    assert [e.index for e in sink.of("code_block")] == [8]
    assert [m.content for m in model.seen[0]] == ["q1", earlier[1].content, "q2"]
    outcome = session.finish("ended", 0, "the user ended the chat")
    assert sink.of("session_end")[0].turns == 4 and outcome.exit_code == 0


def _human(mode: str, answers: str, **kwargs) -> tuple[TerminalHuman, io.StringIO]:
    out = io.StringIO()
    return TerminalHuman(mode, Terminal(io.StringIO(answers), out), env={}, **kwargs), out


BLOCK = CodeBlock("python", "print(1)\n", 4)


@pytest.mark.parametrize(
    ("answers", "action", "text"),
    [
        ("\n", "run", ""),
        ("Y\n", "run", ""),
        ("yes\n", "run", ""),
        ("n\n", "skip", ""),
        ("n\nit deletes files\n", "skip", "it deletes files"),
        ("", "skip", ""),
        ("try the median\n", "reply", "try the median"),
        ("first \\\nsecond\n", "reply", "first \nsecond"),
    ],
)
def test_always_asks_before_running(answers, action, text) -> None:
    human, out = _human("ALWAYS", answers)
    approval = human.approve([BLOCK])
    assert (approval.action, approval.text) == (action, text)
    assert out.getvalue().startswith("--- python block 4 ---\nprint(1)\n" + RUN_PROMPT)


def test_edit_in_an_editor_and_inline(tmp_path) -> None:
    editor = editor_script(tmp_path, "sed -i s/1/2/")
    human, out = _human("ALWAYS", "e\ny\n")
    human.env = {"EDITOR": str(editor)}
    approval = human.approve([BLOCK])
    assert approval.action == "run" and approval.blocks[0].code == "print(2)\n"
    assert approval.blocks[0].index == 4
    assert "Block 4 as edited:\n--- python block 4 ---\nprint(2)\n" in out.getvalue()

    human.env = {"EDITOR": str(editor_script(tmp_path, "false"))}
    human.terminal = Terminal(io.StringIO("e\ny\n"), io.StringIO())
    assert human.approve([BLOCK]).blocks[0].code == "print(1)\n", "a failed editor leaves the block unchanged"

    inline, out = _human("ALWAYS", "e\nprint(3)\nprint(4)\n.\n\n")
    approval = inline.approve([BLOCK])
    assert approval.blocks[0].code == "print(3)\nprint(4)\n"
    assert "set $EDITOR to use your editor" in out.getvalue()


def test_terminate_mode_asks_only_when_the_session_would_end() -> None:
    human, out = _human("TERMINATE", "one more thing\n\n")
    assert human.approve([BLOCK]).action == "run"
    assert human.reply_instead("no code here") is None
    assert human.continue_after("done TERMINATE", "terminated") == "one more thing"
    assert human.continue_after("done TERMINATE", "terminated") is None
    assert out.getvalue().count("The session would end (the assistant is done)") == 2
    assert RUN_PROMPT not in out.getvalue()


def test_never_mode_never_asks() -> None:
    human, out = _human("NEVER", "should not be read\n")
    assert human.approve([BLOCK]).action == "run"
    assert human.reply_instead("text") is None
    assert human.continue_after("text", "max_turns") is None
    assert out.getvalue() == ""


def test_chat_human_skips_blank_lines_and_ends_on_exit_commands() -> None:
    human = ChatHuman("ALWAYS", Terminal(io.StringIO("\n  \nhello\n/exit\n"), io.StringIO()))
    assert human.next_request() == "hello"
    with pytest.raises(EndChat) as ended:
        human.next_request()
    assert ended.value.exit_code == 0
    typed = ChatHuman("ALWAYS", Terminal(io.StringIO("/quit\n"), io.StringIO()))
    with pytest.raises(EndChat):
        typed.approve([BLOCK])


def test_sigterm_at_the_prompt_ends_the_chat_with_143_and_a_complete_transcript(work, chat_env, server_factory) -> None:
    import signal

    child = spawn_chat(server_factory([]), work, chat_env)
    child.expect_exact(PROMPT)
    # CPython's readline loop checks for signals only when select() is interrupted: a signal that
    # lands between readline writing the prompt and entering select() waits for the next key.
    # A person never signals within that instant; a test under load can, so it lets the prompt settle.
    time.sleep(0.3)
    child.kill(signal.SIGTERM)
    assert finish(child) == 143, screen(child)
    (transcript,) = transcripts(work, chat_env)
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    end = next(e for e in events if e["event"] == "session_end")
    assert (end["status"], end["exit_code"]) == ("interrupted", 143)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--docker", "python:3.11-slim", "--local"], "--docker and --local cannot be combined"),
        (["--human-input-mode", "sometimes"], "must be one of ALWAYS, TERMINATE, NEVER"),
    ],
)
def test_bad_flags_are_usage_errors(work, clean_env, args, message) -> None:
    proc = subprocess.run(
        autorun_cmd("chat", str(SAMPLE), "--model", "builtin", "--work-dir", str(work), *args),
        input="",
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not work.exists(), "nothing starts on a usage error"


def test_sheet_applies_to_the_workbooks_among_the_files(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("openpyxl")
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"a": [1, 2, 3, 4]}).to_excel(writer, sheet_name="Big", index=False)
        pd.DataFrame({"b": [1]}).to_excel(writer, sheet_name="Small", index=False)
    data = described(check_inputs([SAMPLE, book], sheet="Small"), "Small")
    assert [d.info.sheet for d in data] == [None, "Small"] and data[1].info.columns == ["b"]
    with pytest.raises(ConfigError, match="--sheet Small needs a workbook"):
        check_inputs([SAMPLE], sheet="Small")


# --- what the person did at "Run it?" reaches the model ------------------------------------


def test_an_edited_block_is_reported_to_the_model_with_the_code_that_ran(
    tmp_path: Path, work: Path, chat_env: dict[str, str], server_factory
) -> None:
    server = server_factory([{"reply": sh("echo ORIGINAL", "Edit me.")}, {"reply": "Done.\n\nTERMINATE"}])
    chat_env["EDITOR"] = str(editor_script(tmp_path, "sed -i s/ORIGINAL/EDITED/"))
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("go")
    child.expect_exact(RUN_PROMPT)
    child.sendline("e")
    child.expect_exact(RUN_PROMPT)
    child.sendline("y")
    child.expect_exact("Done.")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    result = last_user(server, 1)
    assert result.startswith("exitcode: 0 (execution succeeded)") and "EDITED" in result
    assert EDITED_NOTE.format(language="sh", index=1) + "\n```sh\necho EDITED\n```\n" in result


def test_no_hands_the_turn_back_and_the_skip_is_a_status_line(
    work: Path, chat_env: dict[str, str], server_factory
) -> None:
    server = server_factory([{"reply": py("open('x.txt', 'w')")}, {"reply": "Understood.\n\nTERMINATE"}])
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("make a file")
    child.expect_exact(RUN_PROMPT)
    child.sendline("n")
    child.expect_exact("not run: block 1")
    child.expect_exact(PROMPT)
    assert len(server.chat_requests) == 1, "the model is not asked again before the person says why"
    child.sendline("no files in my folder")
    child.expect_exact("Understood.")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    assert last_user(server, 1) == f"{NOT_RUN_NOTE}\n\nno files in my folder"
    assert not (work / "x.txt").exists()
    shown = screen(child)
    assert NOT_RUN_NOTE not in shown, "the note is the model's; the person sees a status line"
    assert "--- user ---" not in shown


def test_ctrl_c_at_run_it_leaves_a_clean_line_and_returns_to_the_prompt(
    work: Path, chat_env: dict[str, str], server_factory
) -> None:
    server = server_factory([{"reply": py("print('never')")}, {"reply": "Fine.\n\nTERMINATE"}])
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("go")
    child.expect_exact(RUN_PROMPT)
    child.sendintr()
    child.expect_exact("not run: block 1")
    child.expect_exact(PROMPT)
    child.sendline("why not")
    child.expect_exact("Fine.")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    assert finish(child) == 0, screen(child)
    after_prompt = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", screen(child).split(RUN_PROMPT, 1)[1])
    assert re.match(r"(\^C)?\nautorun: not run: block 1\n", after_prompt), repr(after_prompt[:80])
    assert last_user(server, 1) == f"{NOT_RUN_NOTE}\n\nwhy not"
    assert "never" not in screen(child).split(RUN_PROMPT, 1)[1].split("Fine.")[0]


def test_end_of_input_at_run_it_runs_nothing_and_ends_the_chat(
    work: Path, chat_env: dict[str, str], server_factory
) -> None:
    server = server_factory([{"reply": py("print('never')")}])
    child = spawn_chat(server, work, chat_env)
    child.expect_exact(PROMPT)
    child.sendline("go")
    child.expect_exact(RUN_PROMPT)
    child.sendeof()
    child.expect_exact(PROMPT)
    child.sendeof()
    assert finish(child) == 0, screen(child)
    assert len(server.chat_requests) == 1
    assert isinstance(child, pexpect.spawn)
