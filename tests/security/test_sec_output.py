"""Output: floods, a 10 MB line, binary garbage, invalid UTF-8, terminal escape sequences.

Every run renders through both the plain renderer and the Rich renderer (on a
forced terminal), so both are checked.
"""

from __future__ import annotations

import json
from pathlib import Path

from autorun.output import KEPT_OUTPUT_CHARS, SHOWN_HEAD_CHARS, SHOWN_TAIL_CHARS
from tests.security.harness import check_common, replies_for, run_probe
from tests.security.probes import record

SHOWN_BOUND = SHOWN_HEAD_CHARS + SHOWN_TAIL_CHARS + 20_000
OUTPUT_LIMIT = 32_000

# Clear screen, cursor home and move, alternate screen, OSC 52 clipboard write, OSC 8 link,
# title change (7-bit and 8-bit C1 forms).
ESCAPES = (
    "\x1b[2J\x1b[H\x1b[10;10H\x1b[?1049h"
    "\x1b]52;c;cHduZWQ=\x07"
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
    "\x1b]0;pwned-title\x07"
    "\x9b2J\x9d0;pwned-c1\x9c"
)
FORBIDDEN = ("\x1b[2J", "\x1b[H", "\x1b[10;10H", "\x1b[?1049h", "\x1b]", "\x07", "\x9b", "\x9d")


def assert_neutralised(run) -> None:
    for name, text in (("plain", run.plain), ("rich", run.rich)):
        for sequence in FORBIDDEN:
            assert sequence not in text, f"{sequence!r} reached the {name} display"
    assert "\x1b" not in run.plain, "plain output carries no escape codes at all"


def sizes(run) -> tuple[int, int, int]:
    """(characters displayed by each renderer at most, recorded in the transcript, sent to the model)."""
    recorded = max(len(r["output"]) for r in run.records if r["event"] == "execution_result")
    sent = max(len(m["content"]) for m in run.requests[-1]["body"]["messages"])
    return max(len(run.plain), len(run.rich)), recorded, sent


def test_100_mb_on_stdout(executor: str, tmp_path: Path) -> None:
    code = """
        import sys
        line = "x" * 99 + "\\n"
        for _ in range(100 * 10486):
            sys.stdout.write(line)
        print("THE END")
    """
    run = run_probe(executor, tmp_path, replies_for([code]), timeout=60)
    check_common(run)
    result = run.results()[0]
    assert result.exit_code == 0
    shown, recorded, sent = sizes(run)
    assert shown < SHOWN_BOUND and recorded <= KEPT_OUTPUT_CHARS + 100 and sent < OUTPUT_LIMIT + 200
    assert "THE END" in run.plain and "THE END" in run.rich and "THE END" in result.output
    assert "characters not shown" in run.plain
    record("out.flood", executor, "contained", "shows the first 100k and last 20k characters; records 4M")


def test_one_10_mb_line(executor: str, tmp_path: Path) -> None:
    code = """
        import sys
        sys.stdout.write("y" * 10_000_000)
        print(" END-OF-LINE")
    """
    run = run_probe(executor, tmp_path, replies_for([code]), timeout=60)
    check_common(run)
    shown, recorded, sent = sizes(run)
    assert shown < SHOWN_BOUND and recorded <= KEPT_OUTPUT_CHARS + 100 and sent < OUTPUT_LIMIT + 200
    assert "END-OF-LINE" in run.plain
    record("out.long_line", executor, "contained", "as any flood: head and tail only")


def test_binary_garbage(executor: str, tmp_path: Path) -> None:
    code = """
        import os, random, sys
        random.seed(5)
        sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(200_000)))
        sys.stdout.buffer.write(b"\\nafter the garbage\\n")
    """
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    assert "after the garbage" in run.plain and "after the garbage" in run.output()
    assert_neutralised(run)
    control = [c for c in run.plain if ord(c) < 32 and c not in "\n\t"]
    assert control == []
    json.dumps(run.records, ensure_ascii=True)
    record("out.binary", executor, "contained", "decoded with U+FFFD; control characters removed before display")


def test_invalid_utf8(executor: str, tmp_path: Path) -> None:
    code = """
        import sys
        sys.stdout.buffer.write(b"bad: \\xff\\xfe\\xc3( \\xed\\xa0\\x80 end\\n")
    """
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    assert "bad: \ufffd\ufffd\ufffd( " in run.output() and " end" in run.output()
    assert "\ufffd" in run.plain
    record("out.invalid_utf8", executor, "contained", "replaced by U+FFFD everywhere")


def test_escape_sequences_in_code_output(executor: str, tmp_path: Path) -> None:
    code = f"""
        import sys
        sys.stdout.write({ESCAPES!r} + "visible text\\n")
        sys.stdout.write("\\x1b]52;c;" + "A" * 100_000)
        sys.stdout.write("\\x07after a huge unterminated OSC\\n")
    """
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    assert "visible text" in run.plain and "visible text" in run.rich
    assert "after a huge unterminated OSC" in run.plain
    assert_neutralised(run)
    record("out.escapes_output", executor, "blocked", "control sequences removed in Rich and plain output")


def test_escape_sequences_in_model_text(executor: str, tmp_path: Path) -> None:
    replies = [
        f"Let me look.{ESCAPES} Carry on.\n\n```python\nprint('hello')\n```",
        f"Here is the summary.{ESCAPES}\n\nTERMINATE",
    ]
    run = run_probe(executor, tmp_path, replies)
    check_common(run)
    assert "Carry on" in run.plain and "Carry on" in run.rich
    assert_neutralised(run)
    assert "pwned" not in run.shown() and "evil.example" not in run.shown(), "sequence bodies are dropped too"
    record("out.escapes_model", executor, "blocked", "control sequences removed in Rich and plain output")


HTML_ATTACK = (
    "<table><tr><td>cell-one</td></tr></table><script>document.title='pwned'</script>"
    "<img src=x onerror=\"document.title='pwned'\"><style>body{display:none}</style>"
    '<a href="javascript:alert(1)">link</a><iframe src="https://evil.example/"></iframe>'
)


def test_html_a_block_displays_or_prints_is_inert_in_the_html_report(executor: str, tmp_path: Path) -> None:
    import html5lib

    from autorun.export.html import to_html
    from autorun.export.report import build_report

    code = f"""
        try:
            from IPython.display import display
        except ImportError:  # no kernel in the image: only the printed copy
            display = None
        if display is not None:
            display({{"text/plain": "TABLE", "text/html": {HTML_ATTACK!r}}}, raw=True)
        print({HTML_ATTACK!r})
    """
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    page = to_html(build_report(run.records))
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    assert tree.findall(".//script") == [] and tree.findall(".//iframe") == [] and len(tree.findall(".//style")) == 1
    assert [e.tag for e in tree.iter() if any(name.lower().startswith("on") for name in e.attrib)] == []
    assert not any(a.get("href", "").startswith("javascript:") for a in tree.iter("a"))
    assert "evil.example" not in "".join(e.get("src", "") for e in tree.iter())
    displayed = any(r.get("html") for r in run.records if r["event"] == "execution_result")
    if displayed:
        cells = [td.text for td in tree.iter("td")]
        assert "cell-one" in cells, "the table itself is kept"
    note = "kernel HTML keeps table markup only (nh3); printed HTML is escaped text; the page allows no script"
    record("out.html_report", executor, "blocked", note)
