"""A findings-first report: the final answer first, each bullet with its chart beside it, tables as
tables (the kernel's HTML, sanitised), code folded, operator details in a footer, no termination
keyword anywhere a person reads, and a chat's final answer is its last assistant message."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import html5lib

from autorun.events import HtmlOutput
from autorun.export.html import to_html
from autorun.export.report import build_report
from autorun.export.tables import output_parts, safe_table
from autorun.record.decode import decode_records
from autorun.record.reader import Transcript
from tests.conftest import SAMPLE, autorun_cmd

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
TABLE_TEXT = "        total\nregion       \nNorth  31,800\nEast   18,500\n"
TABLE_HTML = (
    '<div><style scoped>.dataframe tbody tr th {vertical-align: top;}</style><table border="1" class="dataframe">'
    '<thead><tr style="text-align: right;"><th></th><th>total</th></tr></thead><tbody>'
    '<tr><th>North</th><td onmouseover="alert(1)">31,800</td></tr><tr><th>East</th><td>18,500<script>alert(2)</script>'
    "</td></tr></tbody></table></div>"
)


def chart(work: Path, name: str) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    (work / name).write_bytes(PNG)
    digest = hashlib.sha256(PNG).hexdigest()
    return {"path": name, "size": len(PNG), "sha256": digest, "media_type": "image/png", "change": "created"}


def records(work: Path, final: str = "TERMINATE") -> list[dict[str, Any]]:
    output = f"By region:\n{TABLE_TEXT}Chart: chart-total-revenue-by-region.png\nChart: chart-rows-by-product.png\n"
    return [
        {"event": "session_start", "session_id": "s1", "model": "m", "executor": "local", "work_dir": str(work)},
        {"event": "message", "role": "user", "content": "Analyse it."},
        {"event": "message", "role": "assistant", "content": "Step 1: totals.\n\n```python\nreport()\n```"},
        {"event": "code_block", "index": 1, "language": "python", "code": "report()\n", "will_run": True},
        {
            "event": "execution_result",
            "index": 1,
            "exit_code": 0,
            "duration_s": 0.5,
            "output": output,
            "artifacts": [chart(work, "chart-rows-by-product.png"), chart(work, "chart-total-revenue-by-region.png")],
            "html": [{"text": TABLE_TEXT, "html": TABLE_HTML}],
        },
        {"event": "message", "role": "user", "content": "exitcode: 0 (execution succeeded)\nCode output: ..."},
        {
            "event": "message",
            "role": "assistant",
            "content": "Summary:\n\n- Total revenue by region: North 31,800.\n- Rows by product: 2 kinds.\n"
            "- Overall: 91,100.\n\nTERMINATE",
        },
        {"event": "session_end", "status": "terminated", "exit_code": 0, "reason": "done", "final_message": final},
    ]


# What a test leaves out of a record, filled in as the session would have written it.
_RECORDED_DEFAULTS: dict[str, dict[str, Any]] = {
    "session_start": {"data_file": None, "transcript": None},
    "message": {"name": "m", "turn": 1},
    "code_block": {"turn": 1},
    "execution_result": {"language": "python", "timed_out": False},
    "session_end": dict.fromkeys(("turns", "blocks_run", "blocks_ok", "blocks_failed"), 0)
    | {"duration_s": 1.0, "model": "m", "executor": "local", "work_dir": ".", "transcript": None},
}


def transcript_of(recs: list[dict[str, Any]]) -> Transcript:
    """The records as a transcript read back, each completed with the fields a test need not spell."""
    path = Path("t.jsonl")
    full = [(n, _RECORDED_DEFAULTS.get(r["event"], {}) | r) for n, r in enumerate(recs, start=1)]
    return Transcript(path, tuple(decode_records(full, path)))


def page_of(work: Path, recs: list[dict[str, Any]]) -> tuple[str, Any]:
    page = to_html(build_report(transcript_of(recs)))
    return page, html5lib.parse(page, namespaceHTMLElements=False)


def text_of(element: Any) -> str:
    return "".join(element.itertext())


def test_findings_come_first_each_bullet_beside_its_chart(tmp_path: Path) -> None:
    page, tree = page_of(tmp_path, records(tmp_path))
    body = [child.tag for child in tree.find(".//body")]
    assert body == ["header", "section", "section", "footer"]
    findings, steps = tree.findall(".//body/section")
    assert findings.get("class") == "findings" and steps.get("class") == "steps"
    rows = findings.findall(".//div[@class='finding']")
    assert [text_of(r.find("div[@class='text']")).strip() for r in rows] == [
        "Total revenue by region: North 31,800.",
        "Rows by product: 2 kinds.",
        "Overall: 91,100.",
    ]
    charts = [[img.get("title") for img in row.iter("img")] for row in rows]
    assert charts == [["chart-total-revenue-by-region.png"], ["chart-rows-by-product.png"], []]
    assert all(img.get("src").startswith("data:image/png;base64,") for img in findings.iter("img"))
    assert list(steps.iter("img")) == [], "each chart is shown once, beside its finding"
    assert "TERMINATE" not in page


def test_code_is_folded_and_operator_details_are_in_the_footer(tmp_path: Path) -> None:
    _, tree = page_of(tmp_path, records(tmp_path))
    details = tree.find(".//section[@class='steps']//details")
    assert details is not None and details.get("open") is None and "report()" in text_of(details)
    header = text_of(tree.find(".//header"))
    assert "executor" not in header and "tokens" not in header
    footer = {row.find("th").text: text_of(row.find("td")) for row in tree.find(".//footer").iter("tr")}
    assert footer["session"] == "s1" and footer["executor"] == "local" and footer["status"].startswith("terminated")


def test_the_kernels_table_is_a_table_and_its_markup_is_sanitised(tmp_path: Path) -> None:
    page, tree = page_of(tmp_path, records(tmp_path))
    (table,) = tree.findall(".//section[@class='steps']//table")
    assert table.get("class") == "data"
    cells = [[text_of(cell) for cell in row] for row in table.iter("tr")]
    assert cells == [["", "total"], ["North", "31,800"], ["East", "18,500"]]
    assert "onmouseover" not in page and "alert(2)" not in page and "<style scoped" not in page
    pres = [text_of(pre) for pre in tree.iter("pre") if pre.get("class") == "output"]
    assert pres == ["By region:", "Chart: chart-total-revenue-by-region.png\nChart: chart-rows-by-product.png"]


def test_a_table_is_kept_only_where_its_text_still_is() -> None:
    assert safe_table("<p>no table</p><script>x()</script>") is None
    assert (
        str(safe_table("<table><tr><td>1</td></tr></table>"))
        == '<table class="data"><tbody><tr><td>1</td></tr></tbody></table>'
    )
    parts = output_parts("cut short\n", (HtmlOutput("gone\n", "<table><tr><td>1</td></tr></table>"),))
    assert [(p.text, p.table) for p in parts] == [("cut short\n", None)]


def test_charts_follow_the_order_the_text_names_them(tmp_path: Path) -> None:
    recs = records(tmp_path)
    recs[6]["content"] = "No bullets here, only prose.\n\nTERMINATE"
    _, tree = page_of(tmp_path, recs)
    more = [img.get("alt") for img in tree.find(".//section[@class='findings']").iter("img")]
    assert more == ["chart chart-total-revenue-by-region.png", "chart chart-rows-by-product.png"], (
        "the output names region first: file-name order would put product first"
    )


def test_a_chats_final_answer_is_its_last_assistant_message(tmp_path: Path) -> None:
    recs = records(tmp_path, final="Summary: the first answer.\n\nTERMINATE")
    recs[-1:-1] = [
        {"event": "message", "role": "user", "content": "and by month?"},
        {"event": "message", "role": "assistant", "content": "By month: March leads with 36,200."},
    ]
    report = build_report(transcript_of(recs))
    assert report.final_answer == "By month: March leads with 36,200."


def test_no_termination_keyword_where_a_person_reads(tmp_path: Path, clean_env: dict[str, str]) -> None:
    args = ["analyse", str(SAMPLE), "--model", "builtin", "--local", "--work-dir", str(tmp_path / "w")]
    as_json = subprocess.run(autorun_cmd(*args, "--json"), capture_output=True, text=True, timeout=300, env=clean_env)
    assert as_json.returncode == 0, as_json.stderr
    end = json.loads(as_json.stdout.splitlines()[-1])
    assert end["event"] == "session_end" and "73,300" in end["final_message"]
    assert "TERMINATE" not in end["final_message"] and "TERMINATE" not in end["reason"]
    shown = subprocess.run(
        autorun_cmd(*args, "--report", str(tmp_path / "r.md")),
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env | {"NO_COLOR": "1"},
    )
    assert shown.returncode == 0, shown.stderr
    assert "Summary of `sales.csv`" in shown.stdout
    assert "TERMINATE" not in shown.stdout and "TERMINATE" not in (tmp_path / "r.md").read_text()
