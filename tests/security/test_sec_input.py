"""Bad input files: refused with one clear line (exit 2), or read correctly in every executor."""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from pathlib import Path

from autorun.datafile import describe_for_prompt, inspect_data_file
from tests.conftest import SAMPLE
from tests.security.harness import (
    check_common,
    check_refused,
    cli_command,
    cli_env,
    read_transcript_records,
    replies_for,
    run_cli_unprivileged,
    run_probe,
)
from tests.security.probes import record

GiB = 1024**3


def data_path(executor: str, data: Path) -> str:
    return f"/workspace/data/{data.name}" if executor == "docker" else str(data.resolve())


def load_expression(executor: str, data: Path) -> str:
    """The `pd.read_csv(...)` line autorun gives the model for this file, as the model sees it."""
    description = describe_for_prompt(inspect_data_file(data), data_path(executor, data))
    line = next(line for line in description.splitlines() if line.startswith("Load it with: "))
    return line.removeprefix("Load it with: ")


def refused(executor: str, tmp_path: Path, data: Path, probe: str, *fragments: str) -> None:
    run = run_probe(executor, tmp_path, replies_for(["print('never runs')"]), data_file=data)
    check_refused(run, executor, *fragments)
    record(probe, executor, "refused", "exit 2 with one line naming the file and the problem")


def test_missing_file(executor: str, tmp_path: Path) -> None:
    refused(executor, tmp_path, tmp_path / "missing.csv", "input.missing", "not found")


def test_a_directory(executor: str, tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    refused(executor, tmp_path, folder, "input.directory", "directory")


def test_empty_file(executor: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    refused(executor, tmp_path, empty, "input.empty", "empty")


def test_header_only(executor: str, tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("date,product,revenue\n")
    refused(executor, tmp_path, header, "input.header_only", "no data rows")


def test_binary_named_csv(executor: str, tmp_path: Path) -> None:
    binary = tmp_path / "image.csv"
    binary.write_bytes(bytes(random.Random(3).getrandbits(8) for _ in range(50_000)))
    refused(executor, tmp_path, binary, "input.binary", "does not look like a table")


def unreadable(scratch: Path) -> Path:
    data = scratch / "locked.csv"
    data.write_bytes(SAMPLE.read_bytes())
    data.chmod(0o000)
    return data


def test_unreadable_file(executor: str) -> None:
    run = run_cli_unprivileged(executor, replies_for(["print('never runs')"]), prepare=unreadable)
    assert run.exit_code == 2 and run.records == [], run.stderr
    assert "not readable" in run.stderr or "permission denied" in run.stderr, run.stderr
    record("input.unreadable", executor, "refused", "exit 2: not readable")


def test_unreadable_file_gets_autoruns_one_line_error() -> None:
    run = run_cli_unprivileged("local", replies_for(["print('never runs')"]), prepare=unreadable)
    check_refused(run, "local", "permission denied")


def test_symlink_to_a_file_the_user_cannot_read(executor: str) -> None:
    private = Path(tempfile.mkdtemp(prefix="autorun-private-"))
    try:
        target = private / "secret.csv"
        target.write_bytes(SAMPLE.read_bytes())
        target.chmod(0o000 if os.getuid() else 0o600)
        private.chmod(0o700)

        def link(scratch: Path) -> Path:
            path = scratch / "link.csv"
            path.symlink_to(target)
            return path

        run = run_cli_unprivileged(executor, replies_for(["print('never runs')"]), prepare=link)
    finally:
        target.chmod(0o600)
        subprocess.run(["rm", "-rf", str(private)], check=False)
    check_refused(run, executor, "permission denied")
    record("input.symlink_unreadable", executor, "refused", "exit 2: permission denied, the target is not read")


def readable_probe(executor: str, tmp_path: Path, data: Path, probe: str, check_code: str, expect: list[str]) -> None:
    code = f"import pandas as pd\ndf = {load_expression(executor, data)}\n{check_code}"
    run = run_probe(executor, tmp_path, replies_for([code]), data_file=data)
    check_common(run)
    output = run.output()
    assert run.results()[0].exit_code == 0, output
    for text in expect:
        assert text in output, output
    record(probe, executor, "handled", "described correctly; the suggested pandas call reads it")


def test_latin1_semicolons_decimal_commas(executor: str, tmp_path: Path) -> None:
    data = tmp_path / "prices.csv"
    data.write_bytes("name;price\nCafé;3,50\nCrème brûlée;4,25\n".encode("latin-1"))
    readable_probe(
        executor,
        tmp_path,
        data,
        "input.latin1",
        "print(round(df['price'].sum(), 2), '|'.join(df['name']))",
        ["7.75 Café|Crème brûlée"],
    )


def test_quoted_newlines(executor: str, tmp_path: Path) -> None:
    data = tmp_path / "notes.csv"
    data.write_text('id,comment\n1,"line one\nline two"\n2,"x, y"\n')
    readable_probe(
        executor,
        tmp_path,
        data,
        "input.quoted_newlines",
        "print(len(df), repr(df['comment'][0]))",
        ["2 'line one\\nline two'"],
    )


def test_duplicate_column_names(executor: str, tmp_path: Path) -> None:
    data = tmp_path / "dup.csv"
    data.write_text("a,a,b\n1,2,3\n4,5,6\n")
    readable_probe(
        executor,
        tmp_path,
        data,
        "input.duplicate_columns",
        "print(list(df.columns), int(df.iloc[:, 1].sum()))",
        ["['a', 'a.1', 'b'] 7"],
    )


def test_name_with_spaces_unicode_and_leading_dash(executor: str, tmp_path: Path) -> None:
    data = tmp_path / "-données de ventes 2026 ✓.csv"
    data.write_bytes(SAMPLE.read_bytes())
    readable_probe(
        executor,
        tmp_path,
        data,
        "input.odd_name",
        "print(int(df['revenue'].sum()))",
        ["91100"],
    )


def sparse_csv(path: Path, size: int) -> None:
    """A real CSV head (10,000 rows) on a sparse file of ``size`` bytes: quick, and no disk used."""
    rows = "".join(f"2026-01-{i % 28 + 1:02d},Widget,{i},{i * 3}\n" for i in range(10_000))
    with path.open("wb") as fh:
        fh.write(("date,product,units,revenue\n" + rows).encode())
        fh.truncate(size)


def test_one_gb_csv(executor: str, tmp_path: Path) -> None:
    """The CLI's peak memory shows autorun never loads the file; the user is warned about its size."""
    data = tmp_path / "huge.csv"
    sparse_csv(data, GiB)
    try:
        code = f"import pandas as pd\nprint(pd.read_csv({data_path(executor, data)!r}, nrows=5).shape)"
        work_dir, home = tmp_path / "work", tmp_path / "home"
        home.mkdir()
        from tests.fake_openai_server import FakeOpenAIServer

        out, err = tmp_path / "stdout", tmp_path / "stderr"
        with (
            FakeOpenAIServer([{"reply": r} for r in replies_for([code])]) as server,
            out.open("wb") as o,
            err.open("wb") as e,
        ):
            proc = subprocess.Popen(
                cli_command(data, server.base_url, work_dir), env=(env := cli_env(executor, home)), stdout=o, stderr=e
            )
            _pid, status, usage = os.wait4(proc.pid, 0)
        records = read_transcript_records(work_dir, env)
    finally:
        data.unlink()
    stdout, stderr = out.read_text(), err.read_text()
    assert os.waitstatus_to_exitcode(status) == 0, stderr
    assert usage.ru_maxrss * 1024 < 600 * 1024**2, f"autorun's peak memory was {usage.ru_maxrss // 1024} MB"
    assert "(5, 4)" in stdout
    warnings = [r["text"] for r in records if r["event"] == "notice" and r["level"] == "warning"]
    assert any("huge.csv is 1 GiB" in text for text in warnings), warnings
    assert "huge.csv is 1 GiB" in stderr
    record("input.huge", executor, "handled", "autorun reads only its head; a warning names its size")
