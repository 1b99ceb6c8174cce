"""Plain-text output for pipes, files and NO_COLOR: line by line, no escape codes at all."""

from __future__ import annotations

from typing import TextIO

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
    FenceFilter,
    artifact_words,
    block_title,
    executor_why,
    header_tail,
    is_keyword_line,
    reader_prose,
    result_words,
    safe,
    shows_message,
    summary_rows,
    termination_keyword,
)
from autorun.render.sanitize import LineBuffer, StreamSanitizer


class _Stream:
    """One sanitised, line-buffered text stream (a message or a block's output)."""

    def __init__(self, hide_code: bool = False, keyword: str | None = None) -> None:
        self.sanitizer = StreamSanitizer()
        self.lines = LineBuffer()
        self.received = False
        self.fences = FenceFilter() if hide_code else None
        self.keyword = keyword  # an assistant's message: its keyword line is the loop's, not shown

    def feed(self, chunk: str) -> list[str]:
        self.received = True
        return self._shown(self.lines.feed(self.sanitizer.feed(chunk)))

    def finish(self) -> list[str]:
        lines = self.lines.feed(self.sanitizer.flush())
        rest = self.lines.flush()
        return self._shown([*lines, rest] if rest is not None else lines)

    def _shown(self, lines: list[str]) -> list[str]:
        fences, keyword = self.fences, self.keyword
        if fences is not None:
            lines = [line for line in lines if fences.keep(line)]
        if keyword is not None:
            lines = [line for line in lines if not is_keyword_line(line, keyword)]
        return lines


class PlainRenderer:
    """Prints each complete line as soon as it exists; the product to ``out``, status to ``err``."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self._message: _Stream | None = None
        self._outputs: dict[int, _Stream] = {}
        self._keyword = DEFAULT_KEYWORD  # the session's termination keyword: the loop's, never shown

    def handle(self, event: Event) -> None:
        if isinstance(event, MessageEvent):
            self._on_message(event)
        elif not isinstance(event, MessageChunk | Notice):
            self._end_message()
        if isinstance(event, Interrupted | SessionEnd):
            self._finish_outputs()
        if isinstance(event, SessionStart):
            self._keyword = termination_keyword(event)
            self._status(
                f"session {event.session_id}: model {event.model}, executor {event.executor}"
                f"{executor_why(event)}, work dir {event.work_dir}{header_tail(event)}"
            )
        elif isinstance(event, Notice):
            prefix = "" if event.level == "info" else f"{event.level}: "
            self._status(prefix + event.text)
        elif isinstance(event, MessageStart):
            self._header(self._role_title(event.role, event.name))
            self._message = self._message_stream(event.role)
        elif isinstance(event, MessageChunk):
            self._on_chunk(event)
        elif isinstance(event, CodeBlockEvent):
            title = block_title(event.language, event.index, " ")
            self._header(title if event.will_run else f"{title} (not run)")
            self._print_lines(safe(event.code).rstrip("\n").split("\n"))
        elif isinstance(event, ExecutionOutput):
            self._on_output(event)
        elif isinstance(event, ExecutionResultEvent):
            self._on_result(event)
        elif isinstance(event, Interrupted):
            self._status(f"interrupted ({event.signal})")
        elif isinstance(event, SessionEnd):
            self._summary(event)
        self.out.flush()

    def close(self) -> None:
        self._end_message()
        self._finish_outputs()
        self.out.flush()

    def _finish_outputs(self) -> None:
        """Print what is left of outputs that got no result (the block was interrupted)."""
        for index in list(self._outputs):
            self._print_lines(self._outputs.pop(index).finish())

    def _on_chunk(self, event: MessageChunk) -> None:
        if self._message is None:
            self._header(event.role)
            self._message = self._message_stream(event.role)
        self._print_lines(self._message.feed(event.text))

    def _on_message(self, event: MessageEvent) -> None:
        streamed = self._end_message()
        if not streamed and shows_message(event):
            self._header(self._role_title(event.role, event.name))
            content = reader_prose(event.content, self._keyword) if event.role == "assistant" else event.content
            self._print_lines(safe(content).rstrip("\n").split("\n"))
        if event.partial:
            self._status("the assistant's message broke off before its end")

    def _end_message(self) -> bool:
        """Finish the message being streamed; whether any of its text was printed."""
        stream, self._message = self._message, None
        if stream is None:
            return False
        self._print_lines(stream.finish())
        return stream.received

    def _on_output(self, event: ExecutionOutput) -> None:
        stream = self._outputs.get(event.index)
        if stream is None:
            stream = self._outputs[event.index] = _Stream()
            self._header(f"output of block {event.index}")
        self._print_lines(stream.feed(event.text))

    def _on_result(self, event: ExecutionResultEvent) -> None:
        stream = self._outputs.pop(event.index, None)
        if stream is not None:
            self._print_lines(stream.finish())
        elif event.output:
            self._header(f"output of block {event.index}")
            self._print_lines(safe(event.output).rstrip("\n").split("\n"))
        self.out.write(f"[{result_words(event.exit_code, event.duration_s, event.timed_out)}]\n")
        for line in artifact_words(event):
            self.out.write(f"  file {line}\n")

    def _summary(self, event: SessionEnd) -> None:
        rows = summary_rows(event)
        width = max(len(label) for label, _ in rows) + 1
        self.out.write("\n")
        self._header("summary")
        for label, value in rows:
            self.out.write(f"{label + ':':<{width}} {value}\n")

    def _message_stream(self, role: str) -> _Stream:
        assistant = role == "assistant"
        return _Stream(hide_code=assistant, keyword=self._keyword if assistant else None)

    @staticmethod
    def _role_title(role: str, name: str) -> str:
        return f"{role} ({name})" if role == "assistant" and name and name != role else role

    def _header(self, title: str) -> None:
        self.out.write(f"--- {safe(title)} ---\n")

    def _print_lines(self, lines: list[str]) -> None:
        for line in lines:
            self.out.write(line + "\n")

    def _status(self, text: str) -> None:
        self.err.write(f"autorun: {safe(text)}\n")
        self.err.flush()
