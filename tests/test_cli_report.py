"""`analyse --report` and `autorun export` on the sample, end to end through the CLI (builtin analyst)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, autorun_cmd, transcripts


@pytest.fixture(scope="module")
def sample_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("report")
    work = root / "work"
    report = root / "out.html"
    args = ["analyse", str(SAMPLE), "--model", "builtin", "--local", "--work-dir", str(work), "--report", str(report)]
    result = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, cwd=root)
    assert result.returncode == 0, result.stderr
    [transcript] = transcripts(work)
    return transcript, report, result


def _records(transcript: Path) -> list[dict]:
    return [json.loads(line) for line in transcript.read_text().splitlines()]


def test_report_html_of_the_sample_is_self_contained_and_summarised(sample_session) -> None:
    import html5lib

    transcript, report, result = sample_session
    assert f"report: {report}" in result.stderr
    page = report.read_text()
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    rows = {row.find("th").text: "".join(row.find("td").itertext()) for row in tree.find(".//footer").iter("tr")}
    end = next(r for r in _records(transcript) if r["event"] == "session_end")
    assert rows["file"] == "sales.csv" and rows["model"] == "builtin" and rows["executor"] == "local"
    assert rows["blocks"] == f"{end['blocks_ok']} ok, {end['blocks_failed']} failed"
    assert rows["turns"] == str(end["turns"]) and rows["status"] == "terminated (exit code 0)"
    final = "".join(tree.find(".//section[@class='findings']").itertext())
    assert "73,300" in final and "36,200" in final, "the final answer carries the sample's figures"
    assert "TERMINATE" not in final
    images = [img.get("src") for img in tree.iter("img")]
    pngs = [a for r in _records(transcript) if r["event"] == "execution_result" for a in r.get("artifacts", ())]
    assert len(images) == sum(1 for a in pngs if a["media_type"] == "image/png")
    assert all(src.startswith("data:image/png;base64,") for src in images)
    without_images = page
    for src in images:
        without_images = without_images.replace(src, "")
    assert not re.search(r"https?://|//", without_images)


def test_export_ipynb_of_the_sample_validates_matches_and_reruns(sample_session, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    transcript, _, _ = sample_session
    work = Path(_records(transcript)[0]["work_dir"])
    result = subprocess.run(
        autorun_cmd("export", str(transcript), "--format", "ipynb"), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = Path(result.stdout.strip())
    assert out.parent == work and out.suffix == ".ipynb"
    notebook = nbformat.read(out, as_version=4)
    nbformat.validate(notebook)
    recorded = {r["index"]: r for r in _records(transcript) if r["event"] == "execution_result"}
    cells = [c for c in notebook.cells if c.cell_type == "code" and "block" in c.metadata["autorun"]]
    assert [c.metadata["autorun"]["block"] for c in cells] == sorted(recorded)
    for cell in cells:
        streams = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        assert streams == recorded[cell.metadata["autorun"]["block"]]["output"]
        for output in cell.outputs:
            if output.output_type == "display_data":
                assert base64.b64decode(output.data["image/png"]).startswith(b"\x89PNG")
    assert "| file | sales.csv |" in notebook.cells[0].source
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    rerun = "".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "73300" in rerun.replace(",", "") and not any(
        o.output_type == "error" for c in notebook.cells if c.cell_type == "code" for o in c.outputs
    )


def test_a_report_path_with_an_unknown_extension_fails_before_the_session(tmp_path: Path) -> None:
    work = tmp_path / "work"
    args = ["analyse", str(SAMPLE), "--model", "builtin", "--local", "--work-dir", str(work), "--report", "r.pdf"]
    result = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "autorun: error: cannot tell the report format of r.pdf: name it .html, .ipynb or .md"
    )
    assert not (work / ".autorun").exists()


def test_export_writes_markdown_where_asked(sample_session, tmp_path: Path) -> None:
    transcript, _, _ = sample_session
    out = tmp_path / "notes" / "sales.md"
    result = subprocess.run(autorun_cmd("export", str(transcript), "-o", str(out)), capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == str(out)
    assert out.read_text().startswith("# sales.csv: findings\n\nSummary of `sales.csv`"), "the findings come first"
    assert "| model | builtin |" in out.read_text()


def test_a_transcript_deleted_mid_session_is_an_error_and_the_report_still_written(
    tmp_path: Path, clean_env: dict[str, str], state_dir: Path
) -> None:
    from tests.conftest import assistant_message, stored_transcript

    work = tmp_path / "deleting"  # its own name: the glob below must not reach other tests' sessions
    delete = f"import glob, os\nfor p in glob.glob({str(state_dir)!r} + '/workdirs/deleting-*/sessions/*.jsonl'):\n"
    delete += "    os.remove(p)\nprint('deleted')"
    replay = stored_transcript(
        tmp_path / "recorded", [assistant_message(f"```python\n{delete}\n```"), assistant_message("TERMINATE")]
    )
    report = tmp_path / "r.md"
    args = ["analyse", str(SAMPLE), "--model", f"replay:{replay}", "--local", "--work-dir", str(work)]
    result = subprocess.run(
        autorun_cmd(*args, "--report", str(report)), env=clean_env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("autorun: error:")]
    assert len(errors) == 1 and "was deleted while the session ran" in errors[0]
    [transcript] = transcripts(work)
    kinds = [r["event"] for r in _records(transcript)]
    assert kinds[0] == "session_start" and kinds[-1] == "session_end" and "execution_result" in kinds
    assert "print('deleted')" in report.read_text(), "the report of the restored record is written"


def test_a_report_asked_for_is_never_silently_missing() -> None:
    from autorun.cli.export import ReportOnEnd
    from autorun.errors import ConfigError

    with pytest.raises(ConfigError, match=r"no report written to r\.html: the session ended before it started"):
        ReportOnEnd(Path("r.html")).write(announce=False)
    missing = ReportOnEnd(Path("r.html"))
    missing.transcript = Path("/nonexistent/t.jsonl")
    with pytest.raises(ConfigError, match="no such transcript"):
        missing.write(announce=False)


def test_an_exported_notebook_runs_with_run_all_from_another_directory(sample_session, tmp_path: Path) -> None:
    """Written elsewhere (the builtin's blocks import helpers and write facts relative to the work
    dir), the notebook still runs: its first cell moves there."""
    import nbformat
    from nbclient import NotebookClient

    transcript, _, _ = sample_session
    elsewhere = tmp_path / "elsewhere"
    out = elsewhere / "analysis.ipynb"
    result = subprocess.run(
        autorun_cmd("export", str(transcript), "-o", str(out)), capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    notebook = nbformat.read(out, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(elsewhere)}}
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    rerun = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "73300" in rerun.replace(",", "") and "31800" in rerun.replace(",", "")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["analysis.ipynb"], "its files land in the work dir"
