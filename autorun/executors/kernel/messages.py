"""Jupyter iopub messages -> the text a block printed, and the images it displayed."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autorun.events import HtmlOutput
from autorun.output import KEPT_OUTPUT_CHARS, OutputKeeper

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
MAX_HTML_OUTPUTS = 20  # per block: a report shows this many tables at most
MAX_HTML_CHARS = 200_000  # an HTML result larger than this is left as its text

# Defined in the kernel at start. Saves every open matplotlib figure the block did not save
# itself as PREFIX-N.png in the kernel's working directory (the work dir), closes them all, and
# returns the file names; a figure the code saved (savefig) is its own chart, not saved twice.
# Marking needs Figure.savefig to note the save: wrapped where matplotlib.figure is imported
# (a finder that steps aside after that one import), so a session that never plots pays nothing.
FIGURE_HELPER = """
def _autorun_save_figures(prefix):
    import sys
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    names = []
    for number in plt.get_fignums():
        figure = plt.figure(number)
        if getattr(figure, "_autorun_saved", False):
            continue
        name = f"{prefix}-{len(names) + 1}.png"
        figure.savefig(name)
        names.append(name)
    plt.close("all")
    return names


def _autorun_note_saved_figures():
    import functools
    import importlib.util
    import sys

    def wrap(module):
        original = module.Figure.savefig
        if getattr(original, "_autorun_notes", False):
            return

        @functools.wraps(original)
        def savefig(self, *args, **kwargs):
            self._autorun_saved = True
            return original(self, *args, **kwargs)

        savefig._autorun_notes = True
        module.Figure.savefig = savefig

    if "matplotlib.figure" in sys.modules:
        wrap(sys.modules["matplotlib.figure"])
        return

    class Finder:
        def find_spec(self, name, path=None, target=None):
            if name != "matplotlib.figure":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                execute = spec.loader.exec_module

                def exec_module(module):
                    execute(module)
                    wrap(module)

                spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())


_autorun_note_saved_figures()
del _autorun_note_saved_figures
"""


# Also run at start: code written for a terminal writes bytes to sys.stdout.buffer, which
# ipykernel's streams lack; these decode them (invalid UTF-8 becomes U+FFFD) into the stream.
BINARY_STREAMS = """
def _autorun_binary_streams():
    import codecs, io, sys

    class BinaryStream(io.RawIOBase):
        def __init__(self, text):
            self._text = text
            self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

        def writable(self):
            return True

        def write(self, data):
            self._text.write(self._decoder.decode(bytes(data)))
            return len(data)

        def flush(self):
            self._text.flush()

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not hasattr(stream, "buffer"):
            try:
                stream.buffer = BinaryStream(stream)
            except AttributeError:
                pass

_autorun_binary_streams()
del _autorun_binary_streams
__import__("warnings").filterwarnings("ignore", message="To exit: use 'exit', 'quit', or Ctrl-D.")
# The first write to each stream sets up ipykernel's output path, which needs file descriptors:
# done now, a block that uses up its open-files limit can still print (to a message nobody reads).
print(flush=True)
print(file=__import__("sys").stderr, flush=True)
"""


def figures_expression(prefix: str) -> str:
    """A user expression that saves the open figures; harmless if the helper was deleted."""
    return f"globals().get('_autorun_save_figures', lambda prefix: [])({prefix!r})"


def system_exit_code(evalue: str) -> int:
    """The exit code of ``sys.exit(X)`` from the error's text: N for an int, 0 for None, else 1."""
    text = evalue.strip()
    if text in ("", "None"):
        return 0
    try:
        return int(text)
    except ValueError:
        return 1


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


@dataclass
class BlockOutput:
    """Collects one execution's output in the order the kernel sent it."""

    on_output: Callable[[str], None]
    kept: OutputKeeper = field(default_factory=lambda: OutputKeeper(KEPT_OUTPUT_CHARS))
    images: list[bytes] = field(default_factory=list)
    html: list[HtmlOutput] = field(default_factory=list)  # displayed results that came with HTML
    exit_code: int = 0  # 1 after an exception; sys.exit(N) gives N, as for a script
    interrupting: bool = False  # autorun interrupted it (timeout): its KeyboardInterrupt is not the block's error

    def emit(self, text: str) -> None:
        if text:
            self.kept.add(text)
            self.on_output(text)

    def newline(self) -> None:
        """End the output with a newline, so a line added after it starts on its own."""
        text = self.kept.text()
        if text and not text.endswith("\n"):
            self.emit("\n")

    def handle(self, msg: dict[str, Any]) -> None:
        """Take one iopub message that belongs to this execution."""
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "stream":
            self.emit(content.get("text", ""))
        elif kind == "error" and content.get("ename") == "SystemExit":
            self.exit_code = system_exit_code(content.get("evalue", ""))
            if self.exit_code == 1 and content.get("evalue"):
                self.emit(f"{content['evalue']}\n")  # sys.exit("message") prints it, as Python does
        elif kind == "error" and not self.interrupting:
            self.exit_code = 1
            self.emit(strip_ansi("\n".join(content.get("traceback", []))).rstrip("\n") + "\n")
        elif kind in ("execute_result", "display_data"):
            self._rich(content.get("data", {}))

    def _rich(self, data: dict[str, Any]) -> None:
        png = data.get("image/png")
        if isinstance(png, str):
            try:
                self.images.append(base64.b64decode(png))
                return
            except ValueError:
                pass
        text = data.get("text/plain")
        if isinstance(text, str):
            shown = strip_ansi(text).rstrip("\n") + "\n"
            self.emit(shown)
            html = data.get("text/html")
            if isinstance(html, str) and len(html) <= MAX_HTML_CHARS and len(self.html) < MAX_HTML_OUTPUTS:
                self.html.append(HtmlOutput(shown, html))

    def text(self) -> str:
        return self.kept.text()


def names_from_expression(reply_content: dict[str, Any]) -> list[str]:
    """The figure names the figures expression returned (a repr of a list of str), or none."""
    import ast

    value = (reply_content.get("user_expressions") or {}).get("figures") or {}
    if value.get("status") != "ok":
        return []
    try:
        names = ast.literal_eval(value.get("data", {}).get("text/plain", "[]"))
    except (ValueError, SyntaxError):
        return []
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []
