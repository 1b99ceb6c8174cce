"""SECURITY.md's tables are generated from the suite's outcomes; this fails when they drift apart."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO
from tests.security import probes

SCRIPT = REPO / "scripts" / "security-table.py"
SECURITY_MD = REPO / "SECURITY.md"


def table_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("security_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_security_md_table_matches_the_outcomes() -> None:
    """Runs last (see conftest): every probe has recorded what it observed by now."""
    missing = probes.missing_cells()
    if missing:
        reason = f"SECURITY.md NOT COMPARED: {len(missing)} probe results missing ({', '.join(missing[:5])}, ...)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so every probe must run. {reason}")
        pytest.skip(f"{reason}; run the whole suite (python -m pytest tests/security)")
    script = table_script()
    current = SECURITY_MD.read_text(encoding="utf-8")
    expected = script.replace_between_markers(current, script.render(probes.outcomes_document()))
    path = probes.outcomes_path()
    fix = f"python scripts/security-table.py {path} --write SECURITY.md"
    assert current == expected, f"SECURITY.md differs from the suite's results; run: {fix}"


def sample_document() -> dict:
    return {
        "version": 1,
        "executors": {"local": "local", "docker": "docker"},
        "probes": [
            {"id": "a", "group": "G", "title": "probe | a", "executors": ["local", "docker"]},
            {"id": "b", "group": "G", "title": "probe b", "executors": ["docker"]},
            {"id": "c", "group": "Config", "title": "probe c", "executors": ["any"]},
        ],
        "outcomes": {
            "a": {"local": {"outcome": "allowed", "note": "as the user"}, "docker": {"outcome": "blocked", "note": ""}},
            "c": {"any": {"outcome": "refused", "note": "exit 2"}},
        },
    }


def test_render_groups_marks_allowed_and_missing() -> None:
    table = table_script().render(sample_document())
    assert "| probe \\| a | **allowed**: as the user | blocked |" in table
    assert "| probe b | n/a | not run |" in table
    assert "### Config\n\n| Probe | any executor |" in table
    assert "| probe c | refused: exit 2 |" in table


def test_check_fails_on_drift_and_write_fixes_it(tmp_path: Path) -> None:
    script = table_script()
    outcomes = tmp_path / "outcomes.json"
    outcomes.write_text(json.dumps(sample_document()))
    doc = tmp_path / "SECURITY.md"
    doc.write_text(f"# Security\n\n{script.START}\nstale\n{script.END}\n\nafter\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(SCRIPT), str(outcomes), *args], capture_output=True, text=True)

    drift = run("--check", str(doc))
    assert drift.returncode == 1 and "--write" in drift.stderr and "-stale" in drift.stdout
    assert run("--write", str(doc)).returncode == 0
    assert run("--check", str(doc)).returncode == 0
    text = doc.read_text()
    assert text.startswith("# Security\n") and text.endswith("\nafter\n") and "stale" not in text
