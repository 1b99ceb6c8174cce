"""What a batch shows: live state of each file on stderr, and the final table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from autorun.batch.runner import BatchItem
from autorun.render.common import format_duration, safe

STATE_STYLES = {"queued": "dim", "running": "cyan", "done": "green", "failed": "bold red", "stopped": "yellow"}
FINISHED = ("done", "failed", "stopped")


def _duration(item: BatchItem) -> str:
    seconds = item.duration_s
    return format_duration(seconds) if seconds is not None else "-"


def state_table(items: Sequence[BatchItem]) -> Table:
    table = Table(box=box.SIMPLE, pad_edge=False)
    for column in ("file", "state", "ok", "failed", "time"):
        table.add_column(column, justify="right" if column in ("ok", "failed", "time") else "left")
    for item in items:
        table.add_row(
            Text(safe(item.file.name)),
            Text(item.status_words, style=STATE_STYLES.get(item.state, "")),
            str(item.blocks_ok),
            str(item.blocks_failed),
            _duration(item),
        )
    return table


class LiveBatchDisplay:
    """A Rich live view on a terminal's stderr: one row per file and an overall progress bar."""

    def __init__(self, items: Sequence[BatchItem], console: Console) -> None:
        self.items = items
        self.progress = Progress(
            TextColumn("[bold]analysing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task("files", total=len(items))
        self.live = Live(self, console=console, refresh_per_second=4, transient=False)

    def __rich__(self) -> Group:
        """Built anew at each refresh, so running sessions' times keep ticking."""
        return Group(state_table(self.items), self.progress)

    def start(self) -> None:
        self.live.start()

    def changed(self, item: BatchItem) -> None:
        self.progress.update(self.task, completed=sum(1 for i in self.items if i.state in FINISHED))

    def close(self) -> None:
        self.changed(self.items[0]) if self.items else None
        self.live.refresh()
        self.live.stop()


class PlainBatchDisplay:
    """Off a terminal: one line on stderr per change of state, e.g. ``[2/3] sales.csv: running block 2``."""

    def __init__(self, items: Sequence[BatchItem], err: TextIO) -> None:
        self.items = items
        self.err = err
        self._last: dict[int, str] = {}

    def start(self) -> None:
        pass

    def changed(self, item: BatchItem) -> None:
        words = item.status_words
        if self._last.get(id(item)) == words:
            return
        self._last[id(item)] = words
        finished = sum(1 for i in self.items if i.state in FINISHED)
        self.err.write(f"[{finished}/{len(self.items)}] {safe(item.file.name)}: {words}\n")
        self.err.flush()

    def close(self) -> None:
        pass


def final_table(items: Sequence[BatchItem]) -> Table:
    """file, status, blocks ok/failed, duration, report path (and why a file failed)."""
    table = Table(title="Batch", title_justify="left", box=box.SIMPLE, pad_edge=False)
    for column in ("file", "status", "blocks ok", "blocks failed", "duration", "report"):
        table.add_column(column, justify="right" if column.startswith("blocks") else "left", overflow="fold")
    for item in items:
        report = str(item.report) if item.report.is_file() else "-"
        status = Text(item.status_words, style=STATE_STYLES.get(item.state, ""))
        if item.state != "done" and item.reason:
            status.append(f": {safe(item.reason)}")
        if item.attempts > 1:
            status.append(f" ({item.attempts} attempts)")
        table.add_row(
            Text(safe(str(item.file))), status, str(item.blocks_ok), str(item.blocks_failed), _duration(item), report
        )
    return table


def batch_end_event(items: Sequence[BatchItem]) -> dict[str, Any]:
    """The last ``--json`` line of a batch: every file's outcome."""
    return {
        "event": "batch_end",
        "succeeded": sum(1 for i in items if i.succeeded),
        "failed": sum(1 for i in items if not i.succeeded),
        "files": [
            {
                "file": str(i.file),
                "status": i.state,
                "exit_code": i.exit_code,
                "blocks_ok": i.blocks_ok,
                "blocks_failed": i.blocks_failed,
                "duration_s": round(i.duration_s, 3) if i.duration_s is not None else None,
                "work_dir": str(i.work_dir),
                "transcript": i.transcript,
                "report": str(i.report) if i.report.is_file() else None,
                "reason": i.reason,
                "worker": i.worker,
                "attempts": i.attempts,
            }
            for i in items
        ],
    }


def json_line(item: BatchItem, event: dict[str, Any]) -> str:
    """A session's event as passed on by ``--json``: the same object with the ``file`` it belongs to."""
    return json.dumps({**event, "file": str(item.file)}, ensure_ascii=True)
