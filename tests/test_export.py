"""Reports from a real session's transcript: notebook, HTML and Markdown.

The session is real (scripted model, local executor, transcript writer, artifact
watcher); its blocks draw a matplotlib chart, print markup, run a shell block and fail once.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from autorun.artifacts import ArtifactWatcher
from autorun.events import SessionStart
from autorun.executors.local import LocalExecutor
from autorun.export import export_transcript, format_for
from autorun.export.paths import path_rewrites, rewrite
from autorun.export.report import load_report
from autorun.render.sinks import Fanout
from autorun.session.loop import Session
from autorun.transcripts.store import TranscriptWriter, read_transcript
from tests.scripted import ScriptedModel

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
    records = read_transcript(transcript)
    return [
        a["path"]
        for r in records
        if r["event"] == "execution_result"
        for a in r["artifacts"]
        if a["path"].endswith(".png")
    ]


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
    transcript_path = work / ".autorun" / "sessions" / "t.jsonl"
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
    records = read_transcript(session_transcript)
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

    work = session_transcript.parents[2]
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
    assert session_transcript.parents[2] / "revenue_by_product.png" in {(out.parent / x).resolve() for x in links}
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

    summary = replace(load_report(session_transcript).summary, executor="docker", data_path=None)
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


def test_a_transcript_moved_to_another_machine_finds_its_files_beside_it(
    session_transcript: Path, tmp_path: Path
) -> None:
    import json
    import shutil

    moved = tmp_path / "runs" / "autorun-0"
    shutil.copytree(session_transcript.parents[2], moved)
    transcript = moved / ".autorun" / "sessions" / session_transcript.name
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    records[0]["work_dir"] = "/home/runner/work/gone"  # as recorded on the machine that ran it
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = export_transcript(transcript, "html")
    assert out.parent == moved and not Path("/home/runner/work/gone").exists()
    assert out.read_text().count('src="data:image/png;base64,') == len(png_artifacts(transcript))
