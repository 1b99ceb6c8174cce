"""Every session keeps what it made: a later session that writes the same chart names does not strip
an earlier session's report of its charts (they are kept by content hash with its record)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pandas as pd

from autorun.export import export_transcript
from tests.conftest import SAMPLE, autorun_cmd, transcripts


def analyse(data: Path, work: Path, env: dict[str, str]) -> None:
    args = ["analyse", str(data), "--model", "builtin", "--local", "--work-dir", str(work)]
    done = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr


def charts_of(transcript: Path) -> dict[str, str]:
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    return {
        a["path"]: a["sha256"]
        for r in records
        if r["event"] == "execution_result"
        for a in r.get("artifacts", [])
        if a["media_type"] == "image/png"
    }


def test_two_same_schema_runs_each_keep_their_charts(tmp_path: Path, clean_env: dict[str, str]) -> None:
    north, south = tmp_path / "north.csv", tmp_path / "south.csv"
    north.write_bytes(SAMPLE.read_bytes())
    frame = pd.read_csv(SAMPLE)
    frame["revenue"] = frame["revenue"] * 3 + 1_000
    frame.to_csv(south, index=False)
    work = tmp_path / "w"
    analyse(north, work, clean_env)
    analyse(south, work, clean_env)

    recorded = transcripts(work, clean_env)
    first = next(t for t in recorded if str(north) in t.read_text().splitlines()[0])
    second = next(t for t in recorded if t != first)
    kept, later = charts_of(first), charts_of(second)
    assert kept.keys() == later.keys() and len(kept) == 3, "the same chart names, written twice"
    assert all(kept[name] != later[name] for name in kept), "the second run drew other charts over them"
    for name in kept:
        assert hashlib.sha256((work / name).read_bytes()).hexdigest() == later[name]

    page = export_transcript(first, "html", tmp_path / "first.html").read_text()
    assert "changed after this block" not in page
    embedded = [base64.b64decode(uri) for uri in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]
    assert sorted(hashlib.sha256(data).hexdigest() for data in embedded) == sorted(kept.values())
    markdown = export_transcript(first, "md", tmp_path / "first.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert sorted(hashlib.sha256((tmp_path / link).read_bytes()).hexdigest() for link in links) == sorted(
        kept.values()
    ), "the Markdown links the kept copies, not the overwritten files"
