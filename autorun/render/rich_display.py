"""Rich output for a terminal: live Markdown, highlighted code panels, live block output."""

from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.segment import Segment
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

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
from autorun.render.common import (
    DEFAULT_KEYWORD,
    artifact_words,
    block_title,
    executor_why,
    header_tail,
    reader_prose,
    result_words,
    safe,
    shows_message,
    summary_rows,
    termination_keyword,
)
from autorun.render.sanitize import StreamSanitizer

CODE_THEME = "monokai"
LEXERS = {"python": "python", "sh": "bash"}


def _markdown(text: str) -> Markdown:
    # hyperlinks=False: a link shows its real target instead of hiding it behind the text.
    return Markdown(safe(text), code_theme=CODE_THEME, hyperlinks=False)


class _StreamingMarkdown:
    """The message so far, rendered on each refresh; only its last screenful while it grows."""

    def __init__(self, keyword: str = DEFAULT_KEYWORD) -> None:
        self.chunks: list[str] = []
        self.keyword = keyword

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(_markdown(reader_prose("".join(self.chunks), self.keyword)), options, pad=False)
        room = max(1, console.size.height - 2)
        for line in lines[-room:]:
            yield from line
            yield Segment.line()


class RichRenderer:
    """The product (messages, code, output, summary) to ``out``; status and notices to ``err``."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err
        self._live: Live | None = None
        self._stream: _StreamingMarkdown | None = None
        self._outputs: dict[int, StreamSanitizer] = {}
        self._line_open = False
        self._keyword = DEFAULT_KEYWORD  # the session's termination keyword: the loop's, never shown

    def handle(self, event: Event) -> None:
        if not isinstance(event, ExecutionOutput | ExecutionResultEvent | MessageChunk):
            self._close_line()
        if isinstance(event, MessageChunk):
            self._on_chunk(event)
        elif isinstance(event, Notice):
            self._on_notice(event)
        elif isinstance(event, MessageEvent):
            self._on_message(event)
        else:
            self._end_stream()
            self._dispatch(event)

    def close(self) -> None:
        self._end_stream()
        self._close_line()

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, SessionStart):
            self._keyword = termination_keyword(event)
            self._status(
                f"session {event.session_id} · model {event.model} · "
                f"executor {event.executor}{executor_why(event)} · work dir {event.work_dir}{header_tail(event)}",
                "dim",
            )
        elif isinstance(event, MessageStart):
            self._header(event.role, event.name)
            self._start_stream()
        elif isinstance(event, CodeBlockEvent):
            self._code_panel(event)
        elif isinstance(event, ExecutionOutput):
            self._on_output(event)
        elif isinstance(event, ExecutionResultEvent):
            self._on_result(event)
        elif isinstance(event, Interrupted):
            self._status(f"Interrupted ({event.signal})", "bold red")
        elif isinstance(event, SessionEnd):
            self._summary(event)

    def _status(self, text: str, style: str) -> None:
        """A line on ``err``, after ending any half-printed output line (both may be one terminal)."""
        self._close_line()
        self.err.print(Text(safe(text), style=style))

    def _close_line(self) -> None:
        if self._line_open:
            self.out.print()
            self._line_open = False

    def _header(self, role: str, name: str) -> None:
        title = f"{role} · {name}" if role == "assistant" and name and name != role else role
        style = "cyan" if role == "assistant" else "magenta"
        self.out.print(Rule(Text(safe(title), style=f"bold {style}"), align="left", style=style))

    def _start_stream(self) -> None:
        self._stream = _StreamingMarkdown(self._keyword)
        self._resume_live()

    def _resume_live(self) -> None:
        assert self._stream is not None
        self._live = Live(
            self._stream,
            console=self.out,
            transient=True,
            auto_refresh=True,
            refresh_per_second=8,
            redirect_stdout=False,
            redirect_stderr=False,
            vertical_overflow="crop",
        )
        self._live.start()

    def _pause_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _end_stream(self) -> bool:
        """Replace the live preview by the whole message; whether any text had streamed."""
        self._pause_live()
        stream, self._stream = self._stream, None
        if stream is None or not stream.chunks:
            return False
        prose = reader_prose("".join(stream.chunks), self._keyword)
        if prose.strip():
            self.out.print(_markdown(prose))
        return True

    def _on_chunk(self, event: MessageChunk) -> None:
        if self._stream is None:
            self._header(event.role, "")
            self._start_stream()
        assert self._stream is not None
        self._stream.chunks.append(event.text)

    def _on_notice(self, event: Notice) -> None:
        paused = self._live is not None
        self._pause_live()
        self._status(event.text, "yellow" if event.level in ("info", "warning") else "bold red")
        if paused:
            self._resume_live()

    def _on_message(self, event: MessageEvent) -> None:
        streamed = self._end_stream()
        if not streamed and shows_message(event):
            self._header(event.role, event.name)
            if event.role == "assistant":
                self.out.print(_markdown(reader_prose(event.content, self._keyword)))
            else:
                self.out.print(Text(safe(event.content).rstrip("\n"), style="dim"))
        if event.partial:
            self._status("The assistant's message broke off before its end.", "yellow")

    def _code_panel(self, event: CodeBlockEvent) -> None:
        title = block_title(event.language, event.index, " · ")
        code = Syntax(
            safe(event.code).rstrip("\n"),
            LEXERS.get(event.language, event.language),
            theme=CODE_THEME,
            word_wrap=True,
        )
        if not event.will_run:
            title += " · not run"
        panel = Panel(
            code,
            title=Text(title, style="bold"),
            title_align="left",
            border_style="blue" if event.will_run else "dim",
            box=box.ROUNDED,
        )
        self.out.print(panel)

    def _on_output(self, event: ExecutionOutput) -> None:
        sanitizer = self._outputs.setdefault(event.index, StreamSanitizer())
        self._print_output(sanitizer.feed(event.text))

    def _print_output(self, text: str) -> None:
        if text:
            self.out.print(Text(text, style="dim"), end="", soft_wrap=True)
            self._line_open = not text.endswith("\n")

    def _on_result(self, event: ExecutionResultEvent) -> None:
        sanitizer = self._outputs.pop(event.index, None)
        if sanitizer is not None:
            self._print_output(sanitizer.flush())
        else:
            self._print_output(safe(event.output))
        self._close_line()
        words = result_words(event.exit_code, event.duration_s, event.timed_out)
        ok = event.exit_code == 0 and not event.timed_out
        self.out.print(Text(f"{'✓' if ok else '✗'} {words}", style="green" if ok else "bold red"))
        for line in artifact_words(event):
            self.out.print(Text(f"  ↳ {line}", style="cyan"))

    def _summary(self, event: SessionEnd) -> None:
        table = Table(title="Summary", title_justify="left", box=box.SIMPLE, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for label, value in summary_rows(event):
            style = ""
            if label == "status":
                style = "green" if event.exit_code == 0 else "bold red"
            table.add_row(Text(label), Text(value, style=style))
        self.out.print(table)
