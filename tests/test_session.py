"""The loop's AutoGen v0.2 semantics, with a scripted model and a real local executor."""

from __future__ import annotations

from dataclasses import MISSING, fields, replace
from pathlib import Path

import pytest

from autorun.config.schema import Config
from autorun.executors.local.executor import LocalExecutor
from autorun.executors.none import NoExecutor
from autorun.prompts import NOT_RUN_NOTE
from autorun.session.human_input import Approval
from autorun.session.loop import Session
from autorun.session.values import SessionSettings
from tests.scripted import RecordingSink, ScriptedModel


def py(code: str) -> str:
    return f"```python\n{code}\n```"


def make_session(tmp_path: Path, replies, **settings) -> tuple[Session, ScriptedModel, RecordingSink]:
    model = ScriptedModel(replies)
    sink = RecordingSink()
    executor = LocalExecutor(tmp_path / "work", timeout=20)
    session = Session(model, executor, sink, settings=replace(SessionSettings.from_config(Config()), **settings))
    return session, model, sink


def test_result_message_has_the_exact_autogen_format(tmp_path: Path) -> None:
    session, model, _ = make_session(tmp_path, [py("print(6 * 7)"), "done TERMINATE"])
    outcome = session.run("go")
    assert outcome.exit_code == 0 and outcome.status == "terminated"
    assert model.seen[1][-1].content == "exitcode: 0 (execution succeeded)\nCode output:\n42\n"


def test_failed_block_reply_and_exit_code(tmp_path: Path) -> None:
    session, model, _ = make_session(tmp_path, [py("raise SystemExit(3)"), "TERMINATE"])
    outcome = session.run("go")
    assert model.seen[1][-1].content.startswith("exitcode: 3 (execution failed)\nCode output:\n")
    assert outcome.status == "terminated" and outcome.exit_code == 1


def test_all_blocks_run_in_order_and_stop_at_first_failure(tmp_path: Path) -> None:
    message = "\n".join([py("print('a')"), py("import sys; print('b'); sys.exit(2)"), py("print('c')")])
    session, model, sink = make_session(tmp_path, [message, "TERMINATE"])
    session.run("go")
    reply = model.seen[1][-1].content
    assert reply == "exitcode: 2 (execution failed)\nCode output:\na\nb\n"
    assert [e.index for e in sink.of("execution_result")] == [1, 2]


def test_newest_message_with_blocks_within_last_n(tmp_path: Path) -> None:
    replies = [py("print('first')"), "thinking, no code", "TERMINATE"]
    session, model, sink = make_session(tmp_path, replies, last_n_messages=3)
    session.run("go")
    assert len(sink.of("execution_result")) == 1, "an executed block must never run again"
    assert "No code block was found" in model.seen[2][-1].content


def test_a_block_beyond_last_n_messages_is_not_run(tmp_path: Path) -> None:
    session, _, sink = make_session(tmp_path, [py("print(1)"), "TERMINATE"], last_n_messages=1)
    session.run("go")
    assert len(sink.of("execution_result")) == 1
    session2, _, sink2 = make_session(tmp_path, ["no code here", "TERMINATE"], last_n_messages=1)
    session2.run("```python\nprint('user code is never run')\n```")
    assert sink2.of("execution_result") == []


def test_termination_keyword_is_configurable(tmp_path: Path) -> None:
    session, _, _ = make_session(tmp_path, ["TERMINATE is not it", "ALL DONE"], termination_keyword="ALL DONE")
    outcome = session.run("go")
    assert outcome.status == "terminated" and outcome.final_message == "ALL DONE"


def test_max_consecutive_auto_reply_ends_with_exit_1(tmp_path: Path) -> None:
    replies = [py(f"print({i})") for i in range(5)]
    session, model, sink = make_session(tmp_path, replies, max_consecutive_auto_reply=3)
    outcome = session.run("go")
    assert outcome.status == "max_turns" and outcome.exit_code == 1
    assert len(sink.of("execution_result")) == 3
    assert len(model.seen) == 4


def test_no_code_no_keyword_gets_a_nudge_that_counts(tmp_path: Path) -> None:
    session, model, _ = make_session(tmp_path, ["hmm", "still nothing", "more"], max_consecutive_auto_reply=2)
    outcome = session.run("go")
    assert outcome.status == "max_turns"
    assert all("reply TERMINATE" in seen[-1].content for seen in model.seen[1:])


def test_each_user_message_is_named_for_who_it_is_from(tmp_path: Path) -> None:
    session, model, sink = make_session(tmp_path, [py("print(1)"), "no code yet", "TERMINATE"])
    session.run("go")
    assert [e.name for e in sink.of("message") if e.role == "user"] == ["request", "executor", "autorun"]
    assert [m.name for m in model.seen[2] if m.role == "user"] == ["request", "executor", "autorun"]
    replied = Reviewer([Approval("reply", text="use median")])
    chat = Session(
        ScriptedModel([py("print(1)"), "TERMINATE"]), LocalExecutor(tmp_path, timeout=5), sink, human=replied
    )
    chat.exchange("what is in it?")
    assert [m.name for m in chat.messages if m.role == "user"] == ["person", "person"]
    unrun = Session(ScriptedModel([py("print(1)"), "TERMINATE"]), NoExecutor(), sink)
    unrun.exchange("what is in it?")
    assert [m.name for m in unrun.messages if m.role == "user"] == ["person", "autorun"]


def test_output_capped_for_the_model_but_full_in_events(tmp_path: Path) -> None:
    session, model, sink = make_session(tmp_path, [py("print('x' * 5000)"), "TERMINATE"], output_limit=1000)
    session.run("go")
    sent = model.seen[1][-1].content
    assert "[... " in sent and " characters omitted ...]" in sent and len(sent) < 1200
    assert len(sink.of("execution_result")[0].output) == 5001


def test_no_exec_shows_blocks_but_never_runs_them(tmp_path: Path) -> None:
    model = ScriptedModel([py("open('made.txt','w').write('x')"), "TERMINATE"])
    sink = RecordingSink()
    session = Session(model, NoExecutor(), sink)
    outcome = session.run("go")
    assert outcome.exit_code == 0
    assert sink.of("code_block")[0].will_run is False
    assert not (Path.cwd() / "made.txt").exists()
    assert "execution is disabled" in model.seen[1][-1].content


def test_events_are_ordered_and_end_with_session_end(tmp_path: Path) -> None:
    session, _, sink = make_session(tmp_path, [py("print(1)"), "TERMINATE"])
    session.run("go")
    kinds = [k for i, k in enumerate(sink.kinds()) if k != "execution_output" or sink.kinds()[i - 1] != k]
    assert kinds == [
        "message",
        "message",
        "code_block",
        "execution_output",
        "execution_result",
        "message",
        "message",
        "session_end",
    ]
    end = sink.of("session_end")[0]
    assert (end.blocks_run, end.blocks_ok, end.blocks_failed, end.turns) == (1, 1, 0, 2)


def test_keyboard_interrupt_ends_with_130_and_an_interrupted_event(tmp_path: Path) -> None:
    class Interrupting(ScriptedModel):
        def reply(self, messages):
            yield "partial "
            raise KeyboardInterrupt

    sink = RecordingSink()
    session = Session(Interrupting([]), LocalExecutor(tmp_path, timeout=5), sink)
    outcome = session.run("go")
    assert outcome.exit_code == 130
    assert sink.kinds()[-3:] == ["message", "interrupted", "session_end"]
    assert sink.of("message")[-1].partial is True


class Reviewer:
    def __init__(self, approvals):
        self.approvals = list(approvals)

    def approve(self, blocks):
        return self.approvals.pop(0)

    def reply_instead(self, assistant_text):
        return None

    def continue_after(self, assistant_text, reason):
        return None


@pytest.mark.parametrize(
    ("approval", "expect_run", "expect_reply"),
    [
        (Approval("skip"), False, NOT_RUN_NOTE),
        (Approval("skip", text="too slow"), False, NOT_RUN_NOTE + "\n\ntoo slow"),
        (Approval("reply", text="use median"), False, "use median"),
    ],
)
def test_human_can_skip_or_reply(tmp_path: Path, approval, expect_run, expect_reply) -> None:
    model = ScriptedModel([py("print(1)"), "TERMINATE"])
    sink = RecordingSink()
    session = Session(model, LocalExecutor(tmp_path, timeout=5), sink, human=Reviewer([approval]))
    session.run("go")
    assert bool(sink.of("execution_result")) is expect_run
    assert model.seen[1][-1].content == expect_reply
    if approval.action == "skip":
        assert [n.text for n in sink.of("notice")] == ["not run: block 1"]


def test_a_stopped_block_hands_the_turn_back_and_the_next_words_carry_the_note(tmp_path: Path) -> None:
    model = ScriptedModel([py("print(1)"), "ok\n\nTERMINATE"])
    sink = RecordingSink()
    session = Session(model, LocalExecutor(tmp_path, timeout=5), sink, human=Reviewer([Approval("stop")]))
    assert session.exchange("go")[0] == "stopped"
    assert len(model.seen) == 1, "the model is not asked again until the person speaks"
    assert session.exchange("because")[0] == "terminated"
    assert model.seen[1][-1].content == NOT_RUN_NOTE + "\n\nbecause"


def test_session_settings_are_the_configs_values_with_no_defaults_of_their_own() -> None:
    config = Config.model_validate(
        {
            "executor": {"last_n_messages": 7, "output_limit": 99},
            "session": {"max_consecutive_auto_reply": 4, "termination_keyword": "DONE"},
        }
    )
    expected = SessionSettings(
        last_n_messages=7, max_consecutive_auto_reply=4, termination_keyword="DONE", output_limit=99
    )
    assert SessionSettings.from_config(config) == expected
    assert all(f.default is MISSING and f.default_factory is MISSING for f in fields(SessionSettings))
