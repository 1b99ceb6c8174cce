"""The display sinks: Rich, plain, JSON Lines, quiet; and the sanitiser they all rely on."""

from __future__ import annotations

import io
import json
import os

import pytest
from rich.console import Console

from autorun.events import (
    CodeBlockEvent,
    Event,
    ExecutionOutput,
    ExecutionResultEvent,
    Interrupted,
    MessageChunk,
    MessageEvent,
    MessageStart,
    Notice,
    SessionEnd,
    SessionStart,
)
from autorun.render.rich_display import RichRenderer
from autorun.render.sanitize import LineBuffer, StreamSanitizer, strip_control_sequences
from autorun.render.sinks import (
    Fanout,
    JsonLinesWriter,
    PlainRenderer,
    QuietRenderer,
    make_renderer,
)

CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;QkFTRTY0\x07"
HYPERLINK = "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"
TITLE = "\x1b]0;title\x07"
MALICIOUS = (CLEAR, CLIPBOARD, HYPERLINK, TITLE)
# What must never reach a terminal, whatever styling the renderer adds itself.
FORBIDDEN = ("\x1b[2J", "\x1b]52", "\x1b]8;;http://x", "\x1b]0;", "QkFTRTY0", "\x07")

FINAL = "Widget Pro leads with 73,300.\n\nTERMINATE"


def end_event(**changes) -> SessionEnd:
    fields = dict(
        status="terminated",
        exit_code=0,
        reason="the assistant said it was done",
        turns=2,
        blocks_run=2,
        blocks_ok=1,
        blocks_failed=1,
        duration_s=3.25,
        model="builtin",
        executor="local",
        work_dir="/tmp/work",
        transcript="/tmp/work/.autorun/sessions/t.jsonl",
        usage=None,
        final_message=FINAL,
    )
    fields.update(changes)
    return SessionEnd(**fields)


def session_events(output: str = "total 73300\n") -> list[Event]:
    code = "print('total', 73300)\n"
    first = f"Loading the file.\n\n```python\n{code}```\n"
    return [
        Notice(text="no API key: using the builtin analyst"),
        SessionStart("ab12", "builtin", "local", "/tmp/work", "sales.csv", "/tmp/t.jsonl", {"a": 1}),
        MessageEvent(role="user", name="executor", content="Analyse sales.csv", turn=0),
        MessageStart(role="assistant", name="builtin"),
        MessageChunk(role="assistant", text=first[:9]),
        MessageChunk(role="assistant", text=first[9:]),
        MessageEvent(role="assistant", name="builtin", content=first, turn=1),
        CodeBlockEvent(index=3, language="python", code=code, turn=1),
        ExecutionOutput(index=3, text=output[:4]),
        ExecutionOutput(index=3, text=output[4:]),
        ExecutionResultEvent(3, "python", 0, 0.12, False, output),
        CodeBlockEvent(index=4, language="sh", code="sleep 100", turn=1),
        ExecutionResultEvent(4, "sh", 124, 5.0, True, "timed out after 5 s\n"),
        CodeBlockEvent(index=5, language="python", code="print(2)", turn=1, will_run=False),
        MessageEvent(role="user", name="executor", content="exitcode: 124 (execution failed)\n", turn=1),
        MessageStart(role="assistant", name="builtin"),
        MessageChunk(role="assistant", text=FINAL),
        MessageEvent(role="assistant", name="builtin", content=FINAL, turn=2),
        end_event(),
    ]


def feed(sink, events: list[Event]) -> None:
    for event in events:
        sink.handle(event)
    sink.close()


def rich_pair() -> tuple[RichRenderer, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    renderer = RichRenderer(
        Console(file=out, force_terminal=True, width=100), Console(file=err, force_terminal=True, width=100)
    )
    return renderer, out, err


def plain_pair() -> tuple[PlainRenderer, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return PlainRenderer(out, err), out, err


def malicious_events() -> list[Event]:
    text = "".join(f"before{seq}after\n" for seq in MALICIOUS)
    events = session_events(output=text)
    events[4] = MessageChunk(role="assistant", text=f"hi {TITLE}{CLEAR}")
    events[7] = CodeBlockEvent(index=3, language="python", code=f"print('{CLIPBOARD}')", turn=1)
    events.insert(9, ExecutionOutput(index=3, text="split \x1b]52;c;"))
    events.insert(10, ExecutionOutput(index=3, text="QkFTRTY0\x07 done\n"))
    events.insert(0, Notice(text=f"warn {TITLE}"))
    return events


# --- plain --------------------------------------------------------------------------------


def test_plain_output_has_no_escape_byte_at_all() -> None:
    renderer, out, err = plain_pair()
    feed(renderer, malicious_events())
    for text in (out.getvalue(), err.getvalue()):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "beforeafter" in out.getvalue() and "link" in out.getvalue()


def test_plain_shows_headers_code_output_and_result_lines() -> None:
    renderer, out, err = plain_pair()
    feed(renderer, session_events())
    text = out.getvalue()
    assert "--- user ---\nAnalyse sales.csv\n" in text
    assert "--- assistant (builtin) ---\nLoading the file.\n" in text
    assert "--- python block 3 ---\nprint('total', 73300)\n" in text
    assert "--- output of block 3 ---\ntotal 73300\n[exit 0 in 0.12 s]\n" in text
    assert "--- output of block 4 ---\ntimed out after 5 s\n[timed out after 5.00 s (exit 124)]\n" in text
    assert "--- python block 5 (not run) ---" in text
    assert "exitcode: 124" not in text  # shown as the result line already
    assert "no API key: using the builtin analyst" in err.getvalue()
    assert "no API key" not in text


def test_plain_summary_is_aligned_key_value_lines() -> None:
    renderer, out, _ = plain_pair()
    feed(renderer, [end_event(usage={"prompt_tokens": 1200, "completion_tokens": 34, "total_tokens": 1234})])
    lines = out.getvalue().splitlines()
    summary = lines[lines.index("--- summary ---") + 1 :]
    values = dict(line.split(":", 1) for line in summary)
    assert values["blocks"].strip() == "2 run, 1 ok, 1 failed"
    assert values["tokens"].strip() == "1,234 (1,200 prompt + 34 completion)"
    assert values["transcript"].strip() == "/tmp/work/.autorun/sessions/t.jsonl"
    assert {"turns", "duration", "model", "executor", "work dir", "status"} <= values.keys()
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in summary}) == 1


def test_plain_prints_each_line_as_soon_as_it_is_complete() -> None:
    renderer, out, _ = plain_pair()
    renderer.handle(MessageStart(role="assistant", name="m"))
    renderer.handle(MessageChunk(role="assistant", text="ab"))
    assert "ab" not in out.getvalue()
    renderer.handle(MessageChunk(role="assistant", text="c\nd"))
    assert out.getvalue().endswith("abc\n")
    renderer.handle(MessageEvent(role="assistant", name="m", content="abc\nd", turn=1))
    assert out.getvalue().endswith("abc\nd\n")
    renderer.handle(ExecutionOutput(index=1, text="x"))
    renderer.handle(ExecutionOutput(index=1, text="y\nz"))
    assert out.getvalue().endswith("xy\n")
    renderer.handle(ExecutionResultEvent(1, "python", 1, 0.5, False, "xy\nz"))
    assert out.getvalue().endswith("xy\nz\n[exit 1 in 0.50 s]\n")


def test_plain_turns_carriage_returns_into_lines_even_across_chunks() -> None:
    renderer, out, _ = plain_pair()
    for chunk in ("10%\r20%\r", "\ndone\r\n"):
        renderer.handle(ExecutionOutput(index=1, text=chunk))
    renderer.handle(ExecutionResultEvent(1, "python", 0, 0.1, False, ""))
    assert out.getvalue().splitlines()[1:4] == ["10%", "20%", "done"]


def test_plain_prints_the_full_output_when_nothing_was_streamed() -> None:
    renderer, out, _ = plain_pair()
    renderer.handle(ExecutionResultEvent(2, "sh", 0, 0.2, False, f"only at the end{CLEAR}\n"))
    assert out.getvalue() == "--- output of block 2 ---\nonly at the end\n[exit 0 in 0.20 s]\n"


def test_plain_close_prints_a_message_cut_off_by_an_interrupt() -> None:
    renderer, out, err = plain_pair()
    renderer.handle(MessageStart(role="assistant", name="m"))
    renderer.handle(MessageChunk(role="assistant", text="half a sent"))
    renderer.handle(Interrupted(signal="SIGINT"))
    renderer.close()
    assert out.getvalue().endswith("half a sent\n")
    assert "interrupted (SIGINT)" in err.getvalue()


# --- rich ---------------------------------------------------------------------------------


def test_rich_neutralises_malicious_sequences_in_text_code_and_output() -> None:
    renderer, out, err = rich_pair()
    feed(renderer, malicious_events())
    for text in (out.getvalue(), err.getvalue()):
        for sequence in FORBIDDEN:
            assert sequence not in text
        assert "\x1b]" not in text  # the renderer itself never emits OSC (no hyperlinks)
    assert "beforeafter" in out.getvalue() and "link" in out.getvalue()


def test_rich_shows_panels_results_and_summary() -> None:
    renderer, out, err = rich_pair()
    events = session_events()
    events[-1] = end_event(usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
    feed(renderer, events)
    text = strip_control_sequences(out.getvalue())
    assert "python · block 3" in text and "sh · block 4" in text
    assert "python · block 5 · not run" in text
    assert "total 73300" in text
    assert "✓ exit 0 in 0.12 s" in text
    assert "✗ timed out after 5.00 s (exit 124)" in text
    for expected in ("Summary", "2 run, 1 ok, 1 failed", "3.25 s", "builtin", "local", "/tmp/work", "t.jsonl"):
        assert expected in text
    assert "15 (10 prompt + 5 completion)" in text
    assert "Widget Pro leads with 73,300." in text
    assert "no API key" in err.getvalue() and "no API key" not in out.getvalue()


def test_rich_colours_success_green_and_failure_red() -> None:
    renderer, out, _ = rich_pair()
    feed(renderer, session_events())
    lines = out.getvalue().splitlines()
    ok = next(line for line in lines if "✓ exit 0" in line)
    failed = next(line for line in lines if "✗ timed out" in line)
    assert "\x1b[32m" in ok and "\x1b[1;31m" in failed


def test_rich_streams_block_output_as_it_arrives() -> None:
    renderer, out, _ = rich_pair()
    renderer.handle(CodeBlockEvent(index=1, language="python", code="...", turn=1))
    renderer.handle(ExecutionOutput(index=1, text="partial line"))
    assert "partial line" in out.getvalue()


def test_rich_ends_a_half_printed_output_line_before_a_status_line() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    renderer = RichRenderer(console, console)
    renderer.handle(ExecutionOutput(index=1, text="progress 50%"))
    renderer.handle(Interrupted(signal="SIGINT"))
    lines = strip_control_sequences(screen.getvalue()).splitlines()
    assert lines == ["progress 50%", "Interrupted (SIGINT)"]


def test_rich_shows_link_targets_instead_of_hiding_them() -> None:
    renderer, out, _ = rich_pair()
    content = "See [the docs](http://evil.example/x)."
    feed(renderer, [MessageEvent(role="assistant", name="m", content=content, turn=1)])
    assert "http://evil.example/x" in strip_control_sequences(out.getvalue())
    assert "\x1b]8" not in out.getvalue()


def test_rich_notice_during_a_streamed_message_goes_to_err_and_the_message_stays_whole() -> None:
    renderer, out, err = rich_pair()
    renderer.handle(MessageStart(role="assistant", name="m"))
    renderer.handle(MessageChunk(role="assistant", text="first half, "))
    renderer.handle(Notice(text="rate limited, retrying"))
    renderer.handle(MessageChunk(role="assistant", text="second half"))
    renderer.handle(MessageEvent(role="assistant", name="m", content="first half, second half", turn=1))
    renderer.close()
    assert "first half, second half" in strip_control_sequences(out.getvalue())
    assert "rate limited, retrying" in err.getvalue()
    assert "rate limited" not in out.getvalue()


def test_rich_notice_is_printed_while_no_live_display_is_active() -> None:
    """On one terminal, a notice printed under a live display would be overdrawn by it."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    renderer = RichRenderer(console, console)
    renderer.handle(MessageStart(role="assistant", name="m"))
    renderer.handle(MessageChunk(role="assistant", text="streaming"))
    renderer.handle(Notice(text="rate limited, retrying"))
    renderer.close()
    before = screen.getvalue().split("rate limited, retrying")[0]
    assert before.count("\x1b[?25l") == before.count("\x1b[?25h") == 1  # live started and stopped


@pytest.mark.parametrize("pair", [rich_pair, plain_pair], ids=["rich", "plain"])
def test_the_termination_keyword_is_not_shown_streamed_or_whole(pair) -> None:
    renderer, out, _ = pair()
    custom = SessionStart("ab12", "m", "local", "/w", None, None, {"session": {"termination_keyword": "ALL DONE"}})
    feed(renderer, session_events())
    assert "73,300" in strip_control_sequences(out.getvalue()) and "TERMINATE" not in out.getvalue()
    renderer, out, _ = pair()
    text = "Totals are in.\n\n**ALL DONE**"
    feed(renderer, [custom, MessageEvent(role="assistant", name="m", content=text, turn=1)])
    assert "Totals are in." in strip_control_sequences(out.getvalue()) and "ALL DONE" not in out.getvalue()


# --- json and quiet -----------------------------------------------------------------------


def test_json_lines_are_complete_events_in_order_and_nothing_else() -> None:
    out = io.StringIO()
    feed(JsonLinesWriter(out), malicious_events())
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [r["event"] for r in records]
    assert kinds == [
        "notice",
        "notice",
        "session_start",
        "message",
        "message",
        "code_block",
        "execution_output",
        "execution_output",
        "execution_output",
        "execution_output",
        "execution_result",
        "code_block",
        "execution_result",
        "code_block",
        "message",
        "message",
        "session_end",
    ]
    assert out.getvalue().isascii() and "\x1b" not in out.getvalue()
    assert records[7]["text"] == "split \x1b]52;c;"  # raw text survives, JSON-escaped
    assert records[-1]["exit_code"] == 0 and records[-1]["status"] == "terminated"


def test_quiet_prints_only_the_final_message_without_the_keyword() -> None:
    out = io.StringIO()
    feed(QuietRenderer(out), session_events())
    assert out.getvalue() == "Widget Pro leads with 73,300.\n"


def test_quiet_uses_the_configured_keyword_and_sanitises() -> None:
    out = io.StringIO()
    start = SessionStart("id", "m", "local", "/w", None, None, {"session": {"termination_keyword": "DONE"}})
    final = f"All good{CLEAR}. DONE"
    feed(QuietRenderer(out), [start, end_event(final_message=final)])
    assert out.getvalue() == "All good.\n"


def test_quiet_prints_nothing_when_there_is_no_final_message() -> None:
    out = io.StringIO()
    feed(QuietRenderer(out), [*session_events()[:-1], end_event(final_message="", status="error")])
    assert out.getvalue() == ""


# --- choosing and fanning out -------------------------------------------------------------


@pytest.fixture
def tty():
    master, slave = os.openpty()
    stream = open(slave, "w", encoding="utf-8")  # noqa: SIM115
    yield stream
    stream.close()
    os.close(master)


def test_make_renderer_chooses_rich_only_on_a_terminal_without_no_color(tty) -> None:
    err = io.StringIO()
    assert isinstance(make_renderer("auto", stdout=tty, stderr=err, env={}), RichRenderer)
    assert isinstance(make_renderer("auto", stdout=tty, stderr=err, env={"NO_COLOR": "1"}), PlainRenderer)
    assert isinstance(make_renderer("auto", stdout=tty, stderr=err, env={"TERM": "dumb"}), PlainRenderer)
    assert isinstance(make_renderer("auto", stdout=io.StringIO(), stderr=err, env={}), PlainRenderer)
    assert isinstance(make_renderer("plain", stdout=tty, stderr=err, env={}), PlainRenderer)
    assert isinstance(make_renderer("json", stdout=tty, stderr=err, env={}), JsonLinesWriter)
    assert isinstance(make_renderer("quiet", stdout=tty, stderr=err, env={}), QuietRenderer)
    with pytest.raises(ValueError, match="unknown output mode"):
        make_renderer("fancy", stdout=tty, stderr=err, env={})


class _Broken:
    def handle(self, event: Event) -> None:
        raise OSError("broken pipe")

    def close(self) -> None:
        raise OSError("broken pipe")


def test_fanout_feeds_every_sink_even_when_one_fails() -> None:
    out = io.StringIO()
    fanout = Fanout(_Broken(), JsonLinesWriter(out))
    with pytest.raises(OSError, match="broken pipe"):
        fanout.handle(Notice(text="hello"))
    with pytest.raises(OSError, match="broken pipe"):
        fanout.close()
    assert json.loads(out.getvalue())["text"] == "hello"


# --- sanitiser ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (f"a{CLEAR}b", "ab"),
        (f"a{CLIPBOARD}b", "ab"),
        (HYPERLINK, "link"),
        (f"{TITLE}ok", "ok"),
        ("\x1b[31mred\x1b[0m \x1b[1;2H\x1b[?25l", "red "),
        ("\x9b2J\x9d0;t\x9cX", "X"),  # 8-bit CSI and OSC
        ("\x1bP1$r\x1b\\D \x1b_apc\x1b\\A \x1b^pm\x07P", "D A P"),  # DCS, APC, PM
        ("reset\x1bc \x1b(B\x1b7x", "reset x"),
        ("bell\x07 bs\x08 nul\x00 del\x7f", "bell bs nul del"),
        ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
        ("a\rb\r\nc", "a\nb\nc"),
        ("unterminated \x1b]0;title\nnext line", "unterminated \nnext line"),
        ("lone escape \x1b", "lone escape "),
        ("é ü 73,300 €", "é ü 73,300 €"),
    ],
)
def test_strip_control_sequences(raw: str, clean: str) -> None:
    assert strip_control_sequences(raw) == clean


def test_stream_sanitizer_holds_back_a_sequence_split_across_chunks() -> None:
    sanitizer = StreamSanitizer()
    chunks = ["ok \x1b", "]52;c;QkFT", "RTY0\x07 a\x1b[", "2Jb\r", "\nc"]
    pieces = [sanitizer.feed(chunk) for chunk in chunks] + [sanitizer.flush()]
    assert "".join(pieces) == "ok  ab\nc"


def test_stream_sanitizer_drops_an_oversized_payload_up_to_its_terminator() -> None:
    sanitizer = StreamSanitizer(max_pending=16)
    chunks = ["x\x1b]52;c;" + "A" * 40, "B" * 100, "C\x07 after\n", "\x1b]0;" + "t" * 40, "t\nnext"]
    text = "".join(sanitizer.feed(chunk) for chunk in chunks) + sanitizer.flush()
    assert text == "x after\n\nnext"


def test_line_buffer_returns_complete_lines_and_keeps_the_rest() -> None:
    buffer = LineBuffer()
    assert buffer.feed("ab") == []
    assert buffer.feed("c\nd\ne") == ["abc", "d"]
    assert buffer.flush() == "e" and buffer.flush() is None


def test_plain_prints_an_interrupted_blocks_last_partial_line_before_the_summary() -> None:
    renderer, out, _ = plain_pair()
    renderer.handle(ExecutionOutput(index=1, text="working"))
    renderer.handle(Interrupted(signal="SIGINT"))
    renderer.handle(end_event(status="interrupted", exit_code=130))
    renderer.close()
    lines = out.getvalue().splitlines()
    assert lines.index("working") < lines.index("--- summary ---")


def test_fenced_code_is_hidden_from_streamed_prose_in_plain_mode() -> None:
    from io import StringIO

    from autorun.events import MessageChunk, MessageEvent, MessageStart
    from autorun.render.sinks import PlainRenderer

    out, err = StringIO(), StringIO()
    renderer = PlainRenderer(out, err)
    text = "Step one:\n\n```python\nprint('secret code')\n```\nafter the block\n"
    renderer.handle(MessageStart(role="assistant", name="m"))
    for i in range(0, len(text), 5):
        renderer.handle(MessageChunk(role="assistant", text=text[i : i + 5]))
    renderer.handle(MessageEvent(role="assistant", name="m", content=text, turn=1))
    renderer.close()
    shown = out.getvalue()
    assert "Step one:" in shown and "after the block" in shown
    assert "secret code" not in shown


def test_hide_fenced_code_handles_long_and_tilde_fences() -> None:
    from autorun.render.common import hide_fenced_code

    text = "a\n````sh\n```\nnested\n```\n````\nb\n~~~\nx\n~~~\nc"
    assert hide_fenced_code(text) == "a\nb\nc"
