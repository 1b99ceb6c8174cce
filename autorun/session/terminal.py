"""The person at the terminal: line input (readline, history, multi-line) and the HumanInput prompts.

Multi-line input: a line ending with a backslash continues on the next line; a
bracketed paste (what most terminals send when you paste) is taken whole, newlines
included, and sent when you press Enter.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from autorun.codeblocks import CodeBlock
from autorun.errors import ExitCode
from autorun.session.human_input import Approval

HISTORY_LENGTH = 1000
PROMPT = "you> "
MORE_PROMPT = "...> "
RUN_PROMPT = "Run it? [Y]es / [n]o / [e]dit / or type a reply: "
RUN_MANY_PROMPT = "Run these {count} blocks? [Y]es / [n]o / [e]dit / or type a reply: "
QUIT_PROMPT = "Quit? [y/N] "
WHY_PROMPT = "Not run. Tell the assistant why (Enter: say nothing): "
EXIT_COMMANDS = ("/exit", "/quit")
END_OF_EDIT = "."
SUFFIXES = {"python": ".py", "sh": ".sh"}


def history_file(env: Mapping[str, str]) -> Path:
    """``history`` in autorun's state dir (by default ``~/.local/state/autorun/history``)."""
    from autorun.record.state import state_root

    return state_root(env) / "history"


class Terminal:
    """Reads lines: through readline (editing, history, bracketed paste) on a real terminal,
    from plain streams otherwise. Raises EOFError on Ctrl-D / end of input."""

    def __init__(
        self, stdin: TextIO | None = None, stdout: TextIO | None = None, *, history: Path | None = None
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.history = history
        self.readline: Any = None
        self._added: list[str] = []
        if self.stdin is sys.stdin and self.stdout is sys.stdout and _isatty(self.stdin) and _isatty(self.stdout):
            self.readline = _setup_readline()
        if self.readline is not None and history is not None:
            for entry in load_history_file(history):
                self.readline.add_history(entry)

    def read(self, prompt: str, *, prefill: str = "") -> str:
        if self.readline is None:
            self.write(prompt)
            line = self.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\r\n")
        if prefill:
            self.readline.set_startup_hook(lambda: self.readline.insert_text(prefill))
        try:
            return input(prompt)
        finally:
            if prefill:
                self.readline.set_startup_hook(None)

    def remember(self, text: str) -> None:
        if self.readline is not None and text.strip():
            self.readline.add_history(text)
            self._added.append(text)

    def write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def close(self) -> None:
        added, self._added = self._added, []
        if added and self.history is not None:
            save_history_file(self.history, [*load_history_file(self.history), *added])


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _setup_readline() -> Any:
    try:
        import readline
    except ImportError:
        return None
    readline.set_auto_history(False)
    readline.parse_and_bind("set enable-bracketed-paste on")
    return readline


def load_history_file(path: Path) -> list[str]:
    """Entries one per line, with backslash and newline escaped (so multi-line requests survive)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return []
    return [_unescape(line) for line in lines if line]


def save_history_file(path: Path, entries: Sequence[str]) -> None:
    """Keeps the newest HISTORY_LENGTH entries, readable only by the user (requests may be private)."""
    text = "".join(_escape(entry) + "\n" for entry in entries[-HISTORY_LENGTH:])
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)


def _escape(entry: str) -> str:
    return entry.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(line: str) -> str:
    parts = line.split("\\\\")
    return "\\".join(part.replace("\\n", "\n") for part in parts)


def read_text(terminal: Terminal, prompt: str) -> str:
    """One entry: lines ending with a backslash continue (Ctrl-D there sends what was typed)."""
    lines = [terminal.read(prompt)]
    while lines[-1].endswith("\\"):
        lines[-1] = lines[-1][:-1]
        try:
            lines.append(terminal.read(MORE_PROMPT))
        except EOFError:
            break
    return "\n".join(lines)


class EndChat(Exception):
    """The user ended the chat (/exit, Ctrl-D, or Ctrl-C confirmed)."""

    def __init__(self, exit_code: int, reason: str) -> None:
        super().__init__(reason)
        self.exit_code = exit_code
        self.reason = reason


BlockPreview = Callable[[CodeBlock], None]


class TerminalHuman:
    """HumanInput at a terminal. ALWAYS asks before every run and when the assistant sends no
    code; TERMINATE asks only when the session would end; NEVER never asks.

    ``preview`` shows a block before the question (the chat passes its renderer's code panel);
    by default the code is printed as plain text.
    """

    def __init__(
        self,
        mode: str,
        terminal: Terminal,
        *,
        env: Mapping[str, str] | None = None,
        preview: BlockPreview | None = None,
    ) -> None:
        self.mode = mode.upper()
        self.terminal = terminal
        self.env = dict(os.environ if env is None else env)
        self.preview: BlockPreview = preview or self.print_block

    def print_block(self, block: CodeBlock) -> None:
        code = block.code if block.code.endswith("\n") else block.code + "\n"
        self.terminal.write(f"--- {block.language} block {block.index} ---\n{code}")

    def approve(self, blocks: Sequence[CodeBlock]) -> Approval:
        if self.mode != "ALWAYS":
            return Approval("run")
        current = list(blocks)
        for block in current:
            self.preview(block)
        while True:
            prompt = RUN_PROMPT if len(current) == 1 else RUN_MANY_PROMPT.format(count=len(current))
            try:
                answer = read_text(self.terminal, prompt)
            except EOFError:
                self.terminal.write("\n")
                return self.declined(ended=True)
            except KeyboardInterrupt:
                self.terminal.write("\n")  # the next line starts clean, not after the prompt and ^C
                return self.declined(interrupted=True)
            word = answer.strip().lower()
            if word in ("", "y", "yes"):
                return Approval("run", tuple(current))
            if word in ("n", "no"):
                return self.declined()
            if word in ("e", "edit"):
                current = [self.edit(block) for block in current]
                continue
            return Approval("reply", text=self.typed(answer))

    def declined(self, *, ended: bool = False, interrupted: bool = False) -> Approval:
        """``n``, Ctrl-C or end of input at "Run it?": nothing runs; the person may say why.

        Ctrl-C goes on as an interrupt (it stops an unattended session); otherwise the
        person's reason, if they give one, goes to the assistant with the skip.
        """
        if interrupted:
            raise KeyboardInterrupt
        if ended:
            return Approval("skip")
        try:
            reason = read_text(self.terminal, WHY_PROMPT)
        except (EOFError, KeyboardInterrupt):
            self.terminal.write("\n")
            reason = ""
        return Approval("skip", text=self.typed(reason) if reason.strip() else "")

    def reply_instead(self, assistant_text: str) -> str | None:
        if self.mode != "ALWAYS":
            return None
        return self._optional("Your reply (Enter sends the automatic reply): ")

    def continue_after(self, assistant_text: str, reason: str) -> str | None:
        if self.mode == "NEVER":
            return None
        why = "the assistant is done" if reason == "terminated" else "the auto-reply limit is reached"
        return self._optional(f"The session would end ({why}). Type a reply to go on, or Enter to finish: ")

    def typed(self, text: str) -> str:
        """Hook for text the user typed as a reply; the chat checks it for /exit."""
        self.terminal.remember(text)
        return text

    def edit(self, block: CodeBlock) -> CodeBlock:
        """The block as the user edited it in $VISUAL / $EDITOR, or inline when neither is set."""
        editor = self.env.get("VISUAL") or self.env.get("EDITOR")
        if editor:
            code = edit_in_editor(block, shlex.split(editor), self.terminal.write)
        else:
            code = edit_inline(block, self.terminal)
        if code is None or not code.strip():
            self.terminal.write("Edit discarded: the block is unchanged.\n")
            return block
        edited = dataclasses.replace(block, code=code if code.endswith("\n") else code + "\n")
        self.terminal.write(f"Block {block.index} as edited:\n")
        self.preview(edited)
        return edited

    def _optional(self, prompt: str) -> str | None:
        try:
            answer = read_text(self.terminal, prompt)
        except EOFError:
            self.terminal.write("\n")
            return None
        return self.typed(answer) if answer.strip() else None


def edit_in_editor(block: CodeBlock, command: list[str], say: Callable[[str], None]) -> str | None:
    """Open the block in the editor; None when the editor failed (the block stays as it was)."""
    with tempfile.TemporaryDirectory(prefix="autorun-edit-") as folder:
        path = Path(folder) / f"block_{block.index}{SUFFIXES.get(block.language, '.txt')}"
        path.write_text(block.code, encoding="utf-8")
        try:
            done = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            say(f"Cannot start the editor {command[0]!r}: {exc.strerror or exc}; check $VISUAL / $EDITOR.\n")
            return None
        if done.returncode != 0:
            say(f"The editor exited with code {done.returncode}.\n")
            return None
        return path.read_text(encoding="utf-8", errors="replace")


def edit_inline(block: CodeBlock, terminal: Terminal) -> str | None:
    """Line by line (each line pre-filled where readline is available); a line '.' ends the edit."""
    terminal.write(
        f"Editing {block.language} block {block.index} inline (set $EDITOR to use your editor): "
        f"Enter keeps a line, a line with only '{END_OF_EDIT}' ends the block, Ctrl-D cancels.\n"
    )
    lines: list[str] = []
    original = block.code.rstrip("\n").split("\n")
    try:
        for number in range(1, 10_000):
            prefill = original[number - 1] if number <= len(original) else ""
            line = terminal.read(f"{number:>3}| ", prefill=prefill)
            if line == END_OF_EDIT:
                break
            lines.append(line)
    except EOFError:
        terminal.write("\n")
        return None
    return "\n".join(lines) + "\n"


class ChatHuman(TerminalHuman):
    """The chat's HumanInput: the chat prompt itself is where the session 'asks at the end'."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entered: list[str] = []

    def next_request(self) -> str:
        """The user's next request; raises EndChat for /exit, Ctrl-D, or Ctrl-C then y."""
        while True:
            try:
                text = read_text(self.terminal, PROMPT)
            except EOFError:
                self.terminal.write("\n")
                raise EndChat(0, "the user ended the chat") from None
            except KeyboardInterrupt:
                self.terminal.write("\n")
                if self._confirm_quit():
                    raise EndChat(ExitCode.INTERRUPTED, "interrupted by the user") from None
                continue
            if text.strip():
                return self.typed(text)

    def typed(self, text: str) -> str:
        if text.strip().lower() in EXIT_COMMANDS:
            raise EndChat(0, "the user ended the chat")
        self.entered.append(text)
        return super().typed(text)

    def was_entered(self, text: str) -> bool:
        """Whether ``text`` is what the user just typed (the chat does not echo it back)."""
        if text in self.entered:
            self.entered.remove(text)
            return True
        return False

    def reply_instead(self, assistant_text: str) -> str | None:
        return self.next_request() if self.mode == "ALWAYS" else None

    def declined(self, *, ended: bool = False, interrupted: bool = False) -> Approval:
        """Back to the ``you>`` prompt, where the person says why or what to do instead."""
        return Approval("stop")

    def continue_after(self, assistant_text: str, reason: str) -> str | None:
        return None

    def _confirm_quit(self) -> bool:
        try:
            answer = self.terminal.read(QUIT_PROMPT)
        except (EOFError, KeyboardInterrupt):
            self.terminal.write("\n")
            return True
        return answer.strip().lower() in ("y", "yes")
