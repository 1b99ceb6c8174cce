"""The assistant/executor loop, with AutoGen v0.2's UserProxyAgent semantics.

The session asks the model for a message, runs the code blocks of the newest
message (within ``last_n_messages``) that has any, sends the result back, and
repeats until the termination keyword, the auto-reply limit, or the user stops
it. Everything that happens is reported to one event sink.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autorun.artifacts import Artifact, ArtifactWatcher, Snapshot, artifacts_line
from autorun.block_results import BLOCK_INTERRUPTED, INTERRUPTED_LINE, format_result
from autorun.codeblocks import CodeBlock, extract_code_blocks
from autorun.config.schema import Config
from autorun.errors import AutorunError, ExitCode
from autorun.events import (
    CodeBlockEvent,
    ExecutionOutput,
    ExecutionResultEvent,
    Interrupted,
    MessageChunk,
    MessageEvent,
    MessageStart,
    Notice,
    SessionEnd,
    Sink,
)
from autorun.executors.base import ExecResult, Executor
from autorun.executors.host.memory import memory_hint
from autorun.models.base import RESTART, Message, Model, PartialReplyError, Usage
from autorun.output import KEPT_OUTPUT_CHARS, ShownOutput, cap_output
from autorun.prompts import edited_note, with_not_run_note
from autorun.published import PublishedFilter, split_published
from autorun.render.common import without_keyword
from autorun.session.human_input import HumanInput
from autorun.session.values import SessionOutcome, SessionSettings, SessionStats
from autorun.threads import forget_request, raise_requested

NUDGE = (
    "No code block was found in your last message. If the task is complete, reply {keyword}. "
    "Otherwise send the next step as one fenced code block."
)
EXECUTION_DISABLED = (
    "Code execution is disabled for this session: the code blocks were shown to the user but not run. "
    "Answer from what you already know, or reply {keyword}."
)
# Who a user message is from (its name): the request a session opens with, what the person typed,
# what the blocks did, or autorun's own note (no code found, execution disabled).
REQUEST, PERSON, EXECUTOR, AUTORUN = "request", "person", "executor", "autorun"


class SessionTerminated(BaseException):
    """Raised (from a SIGTERM handler) to end a session the way Ctrl-C does."""


@dataclass
class _Conversation:
    messages: list[Message] = field(default_factory=list)
    executed: set[int] = field(default_factory=set)


class Session:
    """One analyst session. Construct, then call :meth:`run` with the opening message."""

    def __init__(
        self,
        model: Model,
        executor: Executor,
        sink: Sink,
        *,
        settings: SessionSettings | None = None,
        system_message: str | None = None,
        human: HumanInput | None = None,
        work_dir: str = "",
        transcript: str | None = None,
        clock=time.monotonic,
        interruptible_blocks: bool = False,
        artifacts: ArtifactWatcher | None = None,
        extract_answers: Callable[[str], dict[str, str]] | None = None,
    ) -> None:
        self.model = model
        self.executor = executor
        self.sink = sink
        self.settings = settings or SessionSettings.from_config(Config())
        self.human = human
        self.work_dir = work_dir
        self.transcript = transcript
        self.clock = clock
        self.interruptible_blocks = interruptible_blocks
        self.artifacts = artifacts
        self.extract_answers = extract_answers
        self.started = clock()
        self.stats = SessionStats()
        self.conversation = _Conversation()
        self._block_counter = 0
        self._not_run = False  # the person stopped the last blocks: their next words say so
        if system_message:
            self.conversation.messages.append(Message("system", system_message))

    @property
    def messages(self) -> list[Message]:
        return self.conversation.messages

    def run(self, opening: str) -> SessionOutcome:
        """Run the loop to its end and report a ``session_end`` event, whatever happens."""
        started = self.clock()
        final = ""
        try:
            self._add_user_message(REQUEST, opening)
            status, reason, final = self._loop()
        except (KeyboardInterrupt, SessionTerminated) as stop:
            forget_request()
            name = "SIGTERM" if isinstance(stop, SessionTerminated) else "SIGINT"
            self.sink.handle(Interrupted(signal=name))
            code = ExitCode.TERMINATED if name == "SIGTERM" else ExitCode.INTERRUPTED
            return self._end("interrupted", code, f"interrupted by {name}", final, started)
        except AutorunError as err:
            self._end("error", err.exit_code, str(err), final, started)
            raise
        return self._end(status, self._exit_code(status), reason, final, started)

    def restore(self, messages: Sequence[Message], *, blocks_seen: int = 0) -> None:
        """Continue an earlier conversation: its code blocks count as executed and never run again."""
        for message in messages:
            self.messages.append(message)
            if message.role == "assistant":
                self.stats.turns += 1
                if extract_code_blocks(message.content):
                    self.conversation.executed.add(len(self.messages) - 1)
        self._block_counter = max(self._block_counter, blocks_seen)

    def exchange(self, text: str) -> tuple[str, str, str]:
        """One chat exchange: send ``text``, loop until the session would end; (status, reason, final).

        Unlike :meth:`run` it reports no ``session_end`` and lets KeyboardInterrupt through
        (a partial reply is recorded first); :meth:`finish` ends the session. The status is
        ``stopped`` when the person chose not to run the code: the turn is theirs again.
        """
        if self._not_run:
            self._not_run = False
            text = with_not_run_note(text)
        self._add_user_message(PERSON, text)
        return self._loop()

    def finish(self, status: str, code: int, reason: str, final: str = "") -> SessionOutcome:
        return self._end(status, code, reason, final, self.started)

    def _exit_code(self, status: str) -> ExitCode:
        if status == "terminated" and self.stats.last_exit_code in (None, 0):
            return ExitCode.OK
        return ExitCode.UNSUCCESSFUL

    def _cost(self) -> float | None:
        usage = self.stats.usage()
        if usage is None:
            return None
        return self.model.cost(Usage(usage["prompt_tokens"], usage["completion_tokens"]))

    def _end(self, status: str, code: int, reason: str, final: str, started: float) -> SessionOutcome:
        self.sink.handle(
            SessionEnd(
                status=status,
                exit_code=int(code),
                reason=reason,
                turns=self.stats.turns,
                blocks_run=self.stats.blocks_run,
                blocks_ok=self.stats.blocks_ok,
                blocks_failed=self.stats.blocks_failed,
                duration_s=round(self.clock() - started, 3),
                model=self.model.name,
                executor=self.executor.name,
                work_dir=self.work_dir,
                transcript=self.transcript,
                usage=self.stats.usage(),
                cost_usd=self._cost(),
                final_message=without_keyword(final, self.settings.termination_keyword),
                peak_memory_bytes=self.executor.peak_memory(),
                answers=self._answers(final),
            )
        )
        return SessionOutcome(status, int(code), reason, final, self.stats)

    def _answers(self, final: str) -> dict[str, str] | None:
        """What the final message answers, read as the answer format says (None without one)."""
        if self.extract_answers is None:
            return None
        return self.extract_answers(without_keyword(final, self.settings.termination_keyword))

    def _loop(self) -> tuple[str, str, str]:
        keyword = self.settings.termination_keyword
        auto_replies = 0
        while True:
            raise_requested()  # a SIGTERM whose exception library code swallowed ends the session here
            text = self._assistant_turn()
            ending = None
            if keyword in text:
                ending = ("terminated", "the assistant said it was done")
            elif auto_replies >= self.settings.max_consecutive_auto_reply:
                ending = ("max_turns", f"reached max_consecutive_auto_reply ({auto_replies})")
            if ending is not None:
                self._announce_unrun(text)
                more = self.human.continue_after(text, ending[0]) if self.human else None
                if more is None:
                    return ending[0], ending[1], text
                auto_replies = 0
                self._add_user_message(PERSON, more)
                continue
            reply = self._executor_reply(text)
            if reply is None:
                return "stopped", "the user did not run the code", text
            self._add_user_message(*reply)
            auto_replies += 1

    def _assistant_turn(self) -> str:
        self.sink.handle(MessageStart(role="assistant", name=self.model.name))
        parts: list[str] = []
        try:
            for chunk in self.model.reply(list(self.messages)):
                if chunk is RESTART:
                    parts.clear()
                    self.sink.handle(Notice(text="the reply broke off; showing the retried reply", level="warning"))
                    self.sink.handle(MessageStart(role="assistant", name=self.model.name))
                    continue
                if chunk:
                    parts.append(chunk)
                    self.sink.handle(MessageChunk(role="assistant", text=chunk))
        except AutorunError as err:
            partial = "".join(parts) or (err.partial_text if isinstance(err, PartialReplyError) else "")
            if partial:
                self._record_assistant(partial, partial=True)
            raise
        except (KeyboardInterrupt, SessionTerminated):
            if parts:
                self._record_assistant("".join(parts), partial=True)
            raise
        text = "".join(parts)
        self._record_assistant(text, partial=False)
        return text

    def _record_assistant(self, text: str, *, partial: bool) -> None:
        self.stats.turns += 1
        usage = self.model.usage
        usage_dict = usage.as_dict() if usage is not None and not partial else None
        if usage_dict is not None:
            self.stats.usage_known = True
            self.stats.prompt_tokens += usage_dict["prompt_tokens"]
            self.stats.completion_tokens += usage_dict["completion_tokens"]
        self.messages.append(Message("assistant", text, self.model.name))
        self.sink.handle(
            MessageEvent(
                role="assistant",
                name=self.model.name,
                content=text,
                turn=self.stats.turns,
                partial=partial,
                usage=usage_dict,
            )
        )

    def _add_user_message(self, sender: str, text: str, published: tuple[dict[str, Any], ...] = ()) -> None:
        self.messages.append(Message("user", text, sender, published))
        self.sink.handle(MessageEvent(role="user", name=sender, content=text, turn=self.stats.turns))

    def _select_blocks(self) -> tuple[int, list[CodeBlock]] | None:
        """The newest message within ``last_n_messages`` that has code blocks, unless already run."""
        candidates = [i for i, m in enumerate(self.messages) if m.role != "system"]
        for position in reversed(candidates[-self.settings.last_n_messages :]):
            message = self.messages[position]
            if message.role != "assistant":
                continue
            blocks = extract_code_blocks(message.content)
            if blocks:
                if position in self.conversation.executed:
                    return None
                return position, blocks
        return None

    def _executor_reply(self, assistant_text: str) -> tuple[str, str, tuple[dict[str, Any], ...]] | None:
        """The next user message's sender, text and the values its blocks published: the blocks' result,
        the person's reply, or None when the person stopped the blocks and has the turn (the chat's prompt)."""
        keyword = self.settings.termination_keyword
        selected = self._select_blocks()
        if selected is None:
            answer = self.human.reply_instead(assistant_text) if self.human else None
            return (PERSON, answer, ()) if answer is not None else (AUTORUN, NUDGE.format(keyword=keyword), ())
        position, blocks = selected
        self.conversation.executed.add(position)
        blocks = [self._number(b) for b in blocks]
        if not self.executor.executes:
            for block in blocks:
                self._announce(block, will_run=False)
            return AUTORUN, EXECUTION_DISABLED.format(keyword=keyword), ()
        if self.human is None:
            return EXECUTOR, *self._run_blocks(blocks)
        approval = self.human.approve(blocks)
        if approval.action == "run":
            approved = list(approval.blocks) or blocks
            message, published = self._run_blocks(approved)
            return EXECUTOR, message + self._edit_notes(blocks, approved), published
        for block in blocks:
            self._announce(block, will_run=False)
        if approval.action == "reply":
            return PERSON, approval.text, ()
        numbers = ", ".join(str(block.index) for block in blocks)
        self.sink.handle(Notice(text=f"not run: block{'s' if len(blocks) > 1 else ''} {numbers}"))
        if approval.action == "skip":
            return PERSON, with_not_run_note(approval.text), ()
        self._not_run = True
        return None

    @staticmethod
    def _edit_notes(proposed: Sequence[CodeBlock], ran: Sequence[CodeBlock]) -> str:
        """What the model is told of blocks the person edited: that they did, and the code that ran."""
        notes = [
            edited_note(new.language, new.index, new.code)
            for old, new in zip(proposed, ran, strict=False)
            if new.code != old.code
        ]
        return "".join("\n" + note for note in notes)

    def _announce_unrun(self, text: str) -> None:
        """Show the blocks of a message that will not run, so no code goes unseen."""
        for block in extract_code_blocks(text):
            self._announce(self._number(block), will_run=False)

    def _number(self, block: CodeBlock) -> CodeBlock:
        self._block_counter += 1
        return dataclasses.replace(block, index=self._block_counter)

    def _announce(self, block: CodeBlock, *, will_run: bool) -> None:
        self.sink.handle(
            CodeBlockEvent(
                index=block.index,
                language=block.language,
                code=block.code,
                turn=self.stats.turns,
                will_run=will_run,
            )
        )

    def _run_blocks(self, blocks: Sequence[CodeBlock]) -> tuple[str, tuple[dict[str, Any], ...]]:
        """Run blocks in order, stopping at the first failure; one combined result message, and what they published."""
        outputs: list[str] = []
        written: list[Artifact] = []
        published: list[dict[str, Any]] = []
        last: ExecResult | None = None
        for block in blocks:
            raise_requested()
            self._announce(block, will_run=True)
            last, artifacts, values = self._run_one(block)
            outputs.append(last.output)
            written += artifacts
            published += values
            if last.exit_code != 0:
                break
        assert last is not None
        combined = dataclasses.replace(last, output="".join(outputs))
        message = format_result(combined.exit_code, combined.output, self.settings.output_limit)
        line = artifacts_line({a.path: a for a in written}.values())
        if line:
            message += ("" if message.endswith("\n") else "\n") + line + "\n"
        return message, tuple(published)

    def _run_one(self, block: CodeBlock) -> tuple[ExecResult, list[Artifact], list[dict[str, Any]]]:
        shown = ShownOutput()
        marked = PublishedFilter()
        started = self.clock()
        before = self.artifacts.snapshot() if self.artifacts is not None else {}

        def on_output(text: str) -> None:
            visible = shown.feed(marked.feed(text))
            if visible:
                self.sink.handle(ExecutionOutput(index=block.index, text=visible))

        try:
            result = self.executor.run(block, on_output)
        except KeyboardInterrupt:
            if not self.interruptible_blocks:
                raise
            result = self._interrupted_block(block, shown.kept.text(), started)
        output, published = split_published(result.output)
        hint = memory_hint(output, result.exit_code)
        if hint:
            hint = ("" if output.endswith("\n") or not output else "\n") + hint + "\n"
            on_output(hint)
            output += hint
        rest = shown.feed(marked.finish()) + shown.finish()
        result = dataclasses.replace(result, output=output)
        if rest:
            self.sink.handle(ExecutionOutput(index=block.index, text=rest))
        artifacts = self._written(before, result)
        self.stats.blocks_run += 1
        self.stats.last_exit_code = result.exit_code
        if result.exit_code == 0:
            self.stats.blocks_ok += 1
        else:
            self.stats.blocks_failed += 1
        self.sink.handle(
            ExecutionResultEvent(
                index=block.index,
                language=block.language,
                exit_code=result.exit_code,
                duration_s=round(result.duration_s, 3),
                timed_out=result.timed_out,
                output=cap_output(result.output, KEPT_OUTPUT_CHARS),
                artifacts=tuple(artifacts),
                published=tuple(published),
                html=result.html,
            )
        )
        return result, artifacts, published

    def _written(self, before: Snapshot, result: ExecResult) -> list[Artifact]:
        """The files the block created or changed, less the file the executor wrote its code to."""
        if self.artifacts is None:
            return []
        return self.artifacts.changes(before, [result.code_file] if result.code_file else [])

    def _interrupted_block(self, block: CodeBlock, output: str, started: float) -> ExecResult:
        """Ctrl-C while a block runs (chat): stop only that block (the kernel or container stays up for
        the next one) and report BLOCK_INTERRUPTED."""
        self.executor.interrupt()
        note = ("\n" if output and not output.endswith("\n") else "") + INTERRUPTED_LINE + "\n"
        self.sink.handle(ExecutionOutput(index=block.index, text=note))
        return ExecResult(
            BLOCK_INTERRUPTED, output + note, self.clock() - started, code_file=self.executor.running_code_file
        )
