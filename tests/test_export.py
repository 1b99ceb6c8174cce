"""Reports from a real session's transcript: notebook, HTML and Markdown.

The session is real (scripted model, local executor, transcript writer, artifact
watcher); its blocks draw a matplotlib chart, print markup, run a shell block and fail once.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path

import pytest

from autorun.artifacts import ArtifactWatcher
from autorun.events import SessionStart
from autorun.executors.local.executor import LocalExecutor
from autorun.export import export_transcript, format_for
from autorun.export.paths import path_rewrites, rewrite
from autorun.export.report import load_report
from autorun.record.reader import read_records
from autorun.record.state import new_session
from autorun.render.sinks import Fanout
from autorun.session.loop import Session
from autorun.transcripts.store import TranscriptWriter
from tests.scripted import ScriptedModel


def work_dir_of(transcript: Path) -> Path:
    return Path(records_of(transcript)[0]["work_dir"])


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHART = """\
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
df = pd.read_csv("{data}")
totals = df.groupby("product")["revenue"].sum()
print(totals.to_string())
totals.plot.bar(title="Revenue by product (sum)")
plt.tight_layout()
plt.savefig("revenue_by_product.png")
"""
SCRIPT_TAG = "<script>alert('x')</script>"


def png_artifacts(transcript: Path) -> list[str]:
    """The PNGs the session's blocks wrote: the chart, and any figure a kernel saved on its own."""
    records = records_of(transcript)
    return [
        a["path"]
        for r in records
        if r["event"] == "execution_result"
        for a in r["artifacts"]
        if a["path"].endswith(".png")
    ]


def records_of(transcript: Path) -> list[dict]:
    return [record for _, record in read_records(transcript)[0]]


def fenced(language: str, code: str) -> str:
    return f"```{language}\n{code}\n```"


@pytest.fixture(scope="module")
def session_transcript(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    work = (root / "work").resolve()
    data = root / "sales.csv"
    data.write_text(
        "date,product,region,revenue,units\n2026-01-05,Widget Pro,North,12500,125\n"
        "2026-01-12,Gadget Lite,South,4200,84\n2026-02-03,Widget Pro,North,14200,142\n"
    )
    replies = [
        "I'll total revenue by **product** and draw it.\n\n" + fenced("python", CHART.format(data=data)),
        "Now some markup and a shell step.\n\n"
        + fenced("python", f"print({SCRIPT_TAG!r})")
        + "\n"
        + fenced("sh", "echo from-shell && ls revenue_by_product.png"),
        "This one fails.\n\n" + fenced("python", "print('before')\nraise ValueError('bad column')"),
        "Widget Pro leads with 26,700.\n\nTERMINATE",
    ]
    transcript_path = new_session(work, "abc123", datetime(2026, 3, 1, 12, 0, 0)).transcript
    transcript = TranscriptWriter(transcript_path)
    sink = Fanout(transcript)
    with LocalExecutor(work, timeout=60) as executor:
        sink.handle(
            SessionStart(
                session_id="abc123",
                model="scripted",
                executor="local",
                work_dir=str(work),
                data_file=str(data),
                transcript=str(transcript_path),
                data_path=str(data),
            )
        )
        session = Session(
            ScriptedModel(replies),
            executor,
            sink,
            work_dir=str(work),
            transcript=str(transcript_path),
            artifacts=ArtifactWatcher(work),
        )
        session.run("Please analyse the sales.")
    sink.close()
    return transcript_path


def test_notebook_validates_and_carries_the_recorded_outputs(session_transcript: Path, tmp_path: Path) -> None:
    import nbformat

    out = export_transcript(session_transcript, "ipynb", tmp_path / "s.ipynb")
    notebook = nbformat.read(out, as_version=4)
    nbformat.validate(notebook)
    records = records_of(session_transcript)
    results = {r["index"]: r for r in records if r["event"] == "execution_result"}
    setup, *code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert setup.metadata["autorun"] == {"setup": True} and "os.chdir(_work_dir)" in setup.source
    assert len(code_cells) == len(results) == 4
    pngs = 0
    for cell in code_cells:
        recorded = results[cell.metadata["autorun"]["block"]]
        text = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        traceback = [line for o in cell.outputs if o.output_type == "error" for line in o.traceback]
        rebuilt = text + ("\n".join(traceback) + "\n" if traceback else "")
        assert rebuilt == recorded["output"]
        for output in cell.outputs:
            if output.output_type == "display_data":
                assert base64.b64decode(output.data["image/png"]).startswith(PNG_MAGIC)
                pngs += 1
    assert "revenue_by_product.png" in png_artifacts(session_transcript)
    assert pngs == len(png_artifacts(session_transcript))
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "| blocks | 3 ok, 1 failed |" in first.source
    assert "Widget Pro leads with 26,700." in first.source
    assert code_cells[2].source.startswith("%%bash\necho from-shell")
    failed = code_cells[3]
    [error] = [o for o in failed.outputs if o.output_type == "error"]
    assert (error.ename, error.evalue) == ("ValueError", "bad column")
    assert error.traceback[-1] == "ValueError: bad column" and "before" in failed.outputs[0].text
    assert "raises-exception" in failed.metadata["tags"]


def test_notebook_reruns_from_the_work_dir(session_transcript: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    work = work_dir_of(session_transcript)
    out = export_transcript(session_transcript, "ipynb")
    assert out.parent == work, "by default the notebook is written where it runs: the work dir"
    (work / "revenue_by_product.png").unlink()
    notebook = nbformat.read(out, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    assert (work / "revenue_by_product.png").read_bytes().startswith(PNG_MAGIC), "the chart cell ran again"
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("name") == "stdout" and "from-shell" in o.get("text", "") for o in outputs)


def test_html_is_self_contained_escaped_and_summarised(session_transcript: Path, tmp_path: Path) -> None:
    import html5lib

    out = export_transcript(session_transcript, out=tmp_path / "report.html")
    page = out.read_text()
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    assert tree.findall(".//script") == [], "a <script> printed by a block must not become an element"
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    summary = {row.find("th").text: "".join(row.find("td").itertext()) for row in tree.iter("tr")}
    assert summary["file"] == "sales.csv" and summary["blocks"] == "3 ok, 1 failed"
    assert summary["model"] == "scripted" and summary["executor"] == "local" and summary["turns"] == "4"
    images = [img.get("src") for img in tree.iter("img")]
    assert len(images) == len(png_artifacts(session_transcript))
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
        page = page.replace(src, "")
    assert not re.search(r"https?://|//", page), "no external reference of any kind"
    assert tree.find(".//span") is not None, "code is highlighted"
    findings = "".join(tree.find(".//section[@class='findings']").itertext())
    assert "Widget Pro leads with 26,700." in findings and "TERMINATE" not in page


def test_markdown_links_images_relative_to_the_document(session_transcript: Path, tmp_path: Path) -> None:
    out = export_transcript(session_transcript, out=tmp_path / "docs" / "report.md")
    text = out.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == len(png_artifacts(session_transcript))
    assert not any(Path(link).is_absolute() for link in links)
    assert work_dir_of(session_transcript) / "revenue_by_product.png" in {(out.parent / x).resolve() for x in links}
    assert "| blocks | 3 ok, 1 failed |" in text and "```sh\necho from-shell" in text


def test_a_replaced_image_is_not_shown_as_the_block_output(session_transcript: Path, tmp_path: Path) -> None:
    report = load_report(session_transcript)
    work = report.work_dir
    chart = work / "revenue_by_product.png"
    original = chart.read_bytes()
    try:
        chart.write_bytes(PNG_MAGIC + b"another picture")
        page = export_transcript(session_transcript, out=tmp_path / "r.html").read_text()
        assert page.count("data:image/png") == len(png_artifacts(session_transcript)) - 1
        assert "revenue_by_product.png (changed after this block)" in page
    finally:
        chart.write_bytes(original)


def test_docker_paths_are_rewritten_for_the_work_dir(session_transcript: Path) -> None:
    from dataclasses import replace

    summary = replace(
        load_report(session_transcript).summary, executor="docker", data_path=None, code_work_dir="/workspace"
    )
    rewrites = path_rewrites(summary)
    code = "pd.read_csv('/workspace/data/sales.csv'); plt.savefig('/workspace/out/c.png')"
    data_file = summary.data_file
    assert rewrite(code, rewrites) == f"pd.read_csv('{data_file}'); plt.savefig('./out/c.png')"


def test_tracebacks_of_processes_and_of_kernels_become_error_outputs() -> None:
    from autorun.export.report import split_traceback

    process = "a\nTraceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'k'\n"
    assert split_traceback(process) == (
        "a\n",
        ["Traceback (most recent call last):", '  File "x.py", line 1', "KeyError: 'k'"],
    )
    kernel = (
        "before\n" + "-" * 75 + "\nValueError" + " " * 32 + "Traceback (most recent call last)\nCell In[1], line 2\n"
    )
    kernel += "----> 2 raise ValueError('bad')\n\nValueError: bad\n"
    text, lines = split_traceback(kernel)
    assert text == "before\n" and lines[0] == "-" * 75 and lines[-1] == "ValueError: bad"
    assert split_traceback("no traceback here\n") == ("no traceback here\n", [])


def test_report_format_comes_from_the_extension() -> None:
    assert [format_for(Path(p)) for p in ("a.html", "b.HTM", "c.ipynb", "d.md")] == ["html", "html", "ipynb", "md"]
    from autorun.errors import ConfigError

    with pytest.raises(ConfigError, match=r"name it \.html, \.ipynb or \.md"):
        format_for(Path("report.pdf"))


def test_an_old_transcript_moved_to_another_machine_finds_its_files_beside_it(
    session_transcript: Path, tmp_path: Path
) -> None:
    """Before the state dir, autorun kept transcripts in <work dir>/.autorun/sessions/; copies of those still work."""
    import json
    import shutil

    moved = tmp_path / "runs" / "autorun-0"
    shutil.copytree(work_dir_of(session_transcript), moved)
    transcript = moved / ".autorun" / "sessions" / session_transcript.name
    transcript.parent.mkdir(parents=True)
    records = records_of(session_transcript)
    records[0]["work_dir"] = "/home/runner/work/gone"  # as recorded on the machine that ran it
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = export_transcript(transcript, "html")
    assert out.parent == moved and not Path("/home/runner/work/gone").exists()
    assert out.read_text().count('src="data:image/png;base64,') == len(png_artifacts(transcript))


ESCAPES = "\x1b]0;pwned-title\x07\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b2J\x07\x00"


def hostile_transcript(tmp_path: Path) -> Path:
    from autorun.events import Artifact, CodeBlockEvent, ExecutionResultEvent, MessageEvent, SessionEnd

    path = tmp_path / "t.jsonl"
    writer = TranscriptWriter(path)
    name = f"chart{ESCAPES}`<b>.png"
    for event in (
        SessionStart(f"id{ESCAPES}", "m", "local", str(tmp_path), "sales.csv", str(path)),
        MessageEvent(
            role="assistant",
            name="m",
            turn=1,
            content=f"Look {ESCAPES}<script>x()</script> [a](javascript:alert(1)) ![t](http://t.example/p.png)"
            "\n\n| region | total |\n|---|---|\n| North | 5 |\n\n```python\nprint(1)\n```",
        ),
        CodeBlockEvent(index=1, language="python", code=f"print('{ESCAPES}')", turn=1),
        ExecutionResultEvent(
            1, "python", 0, 0.1, False, f"out{ESCAPES}\n", (Artifact(name, 3, None, "x/y", "created"),)
        ),
        MessageEvent(role="assistant", name="m", content=f"Done <img src=x onerror=y()> {ESCAPES}\nTERMINATE", turn=2),
        SessionEnd("terminated", 0, f"r{ESCAPES}", 2, 1, 1, 0, 1.0, "m", "local", str(tmp_path), str(path)),
    ):
        writer.handle(event)
    writer.close()
    return path


@pytest.mark.parametrize("fmt", ["md", "ipynb", "html"])
def test_exports_carry_no_control_characters_and_no_live_markup(tmp_path: Path, fmt: str) -> None:
    from markdown_it import MarkdownIt

    out = export_transcript(hostile_transcript(tmp_path), fmt, tmp_path / f"r.{fmt}")
    text = out.read_text(encoding="utf-8")
    texts = [text]
    if fmt == "ipynb":
        import nbformat

        notebook = nbformat.reads(text, as_version=4)
        texts += [cell.source for cell in notebook.cells]
        markdown = "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    else:
        markdown = text
    for found in texts:
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", found), repr(found[:200])
        assert "pwned-title" not in found and "cHduZWQ=" not in found
    if fmt != "html":
        rendered = MarkdownIt("commonmark").render(markdown)
        for live in ("<script", "<img", 'href="javascript:', "<b>"):
            assert live not in rendered, live
        assert "| North | 5 |" in markdown, "the model's table keeps its Markdown"
        assert "\\<script>x()\\</script>" in markdown, "the markup is shown as the text it was"


def test_a_file_name_cannot_close_its_code_span() -> None:
    from autorun.export.prose import code_span, escaped, fenced

    assert code_span("a`b") == "``a`b``" and code_span("`x") == "`` `x ``"
    assert escaped("[x](javascript:y) <b> *z* a|b") == "\\[x\\](javascript:y) \\<b\\> \\*z\\* a\\|b"
    assert fenced("print(1)", "py<script>") == "```pyscript\nprint(1)\n```"


def test_a_report_is_never_written_through_a_planted_symlink_or_pipe(session_transcript: Path, tmp_path: Path) -> None:
    import os

    from autorun.errors import ConfigError

    victim = tmp_path / "bashrc"
    victim.write_text("keep me")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    with pytest.raises(ConfigError, match="is a symlink or a pipe"):
        export_transcript(session_transcript, "html", link)
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is a symlink or a pipe"):
        export_transcript(session_transcript, "md", fifo)
    assert victim.read_text() == "keep me"
    existing = tmp_path / "old.md"
    existing.write_text("x" * 100_000)
    assert export_transcript(session_transcript, "md", existing).read_text().startswith("# ")
    assert "x" * 100 not in existing.read_text(), "an older, longer report is replaced whole"
