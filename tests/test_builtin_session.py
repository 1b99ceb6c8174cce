"""The builtin in a session: a resumed one has its figures back (what the blocks published comes back
from the record), and its blocks have time to read a big file whole."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd

from autorun.config.schema import Config
from autorun.datafile import inspect_data_file
from autorun.models.builtin import BuiltinAnalyst, published_facts
from autorun.render.common import without_keyword
from autorun.session.components import builtin_timeout
from autorun.transcripts.resume import load_history
from tests.conftest import SAMPLE, autorun_cmd


def test_resume_restores_what_the_blocks_published(tmp_path: Path, clean_env) -> None:
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--local", "--work-dir", str(tmp_path), "--json"),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    history = load_history(Path(end["transcript"]))

    facts = published_facts(history.messages)
    assert set(facts) == {"load", "measures", "groups", "trend"}
    sample = pd.read_csv(SAMPLE)
    assert facts["load"]["rows"] == len(sample)
    assert facts["measures"]["stats"]["revenue"]["total"] == sample["revenue"].sum()
    assert all(not m.published for m in history.messages if m.role == "assistant")

    resumed = BuiltinAnalyst(inspect_data_file(SAMPLE), str(SAMPLE)).next_message(history.messages)
    assert "could not be read back" not in resumed
    assert without_keyword(resumed, "TERMINATE") == end["final_message"], (
        "the resumed builtin sums up from the same figures"
    )


def test_the_builtins_blocks_get_time_in_proportion_to_the_file(tmp_path: Path) -> None:
    big, packed = tmp_path / "big.csv", tmp_path / "big.csv.gz"
    for path in (big, packed):
        with path.open("wb") as f:
            f.truncate(200_000_000)  # sparse: 200 MB on paper
    config = Config.model_validate({"model": {"name": "builtin"}, "executor": {"timeout": 60}})
    assert builtin_timeout(config, [big], {}).executor.timeout == 60 + 0.3 * 200
    assert builtin_timeout(config, [packed], {}).executor.timeout == 60 + 0.3 * 200 * 5
    assert builtin_timeout(config, [SAMPLE], {}).executor.timeout == 60
    llm = Config.model_validate({"model": {"name": "gpt-4o-mini"}, "executor": {"timeout": 60}})
    assert builtin_timeout(llm, [big], {}).executor.timeout == 60, "an LLM's blocks keep the timeout as set"
