"""The builtin analyst: its code comes from autorun's read-only package and its figures from the session's
record, so nothing a block leaves in the work dir runs in, or changes, a later builtin session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autorun.analyse import AnalyseRequest, analyse
from autorun.config.schema import Config
from autorun.render.plain import PlainRenderer
from tests.conftest import SAMPLE
from tests.security.harness import EXECUTOR_CONFIG, check_common, probe_env, replies_for, run_probe
from tests.security.probes import record

RUNTIME_IMAGE = "autorun-runtime:1"
MARKER = "planted-module-ran"
PLANT = f"""
    import os
    for folder in ("matplotlib", ".autorun/analyst/matplotlib", "duckdb_extras"):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "__init__.py"), "w") as fh:
            fh.write("open({MARKER!r}, 'w').write('ran')\\n")
    with open("json.py", "w") as fh:
        fh.write("open({MARKER!r}, 'w').write('ran')\\n")
    os.makedirs(".autorun", exist_ok=True)
    with open(".autorun/facts-builtin.json", "w") as fh:
        fh.write('{{"groups": {{"region": {{"table": {{"North": {{"total revenue": 99999}}}}}}}}}}')
    print("planted")
"""


def builtin_session(executor: str, work_dir: Path, home: Path) -> str:
    """A builtin analysis of the sample in ``work_dir``; what it printed."""
    import io

    keys = dict(EXECUTOR_CONFIG[executor])
    if executor == "docker":
        keys["image"] = RUNTIME_IMAGE
    config = Config.model_validate(
        {"model": {"name": "builtin"}, "executor": {**keys, "work_dir": str(work_dir), "timeout": 120}}
    )
    out, err = io.StringIO(), io.StringIO()
    display = PlainRenderer(out, err)
    try:
        outcome = analyse(AnalyseRequest(SAMPLE, config), display, env=probe_env(home))
    finally:
        display.close()
    assert outcome.exit_code == 0, out.getvalue() + err.getvalue()
    return out.getvalue()


def test_a_planted_module_never_runs_in_a_later_builtin_session(executor: str, tmp_path: Path) -> None:
    if executor == "docker":
        import docker

        try:
            docker.from_env().images.get(RUNTIME_IMAGE)
        except Exception:
            if os.environ.get("CI"):
                pytest.fail(f"CI is set and the runtime image {RUNTIME_IMAGE} is missing: run `autorun image build`")
            pytest.skip(f"THE RUNTIME IMAGE {RUNTIME_IMAGE} IS MISSING: run `autorun image build`")
    run = run_probe(executor, tmp_path, replies_for([PLANT]))
    check_common(run)
    work = run.work_dir
    assert (work / "matplotlib" / "__init__.py").is_file() and (work / "json.py").is_file()
    shown = builtin_session(executor, work, tmp_path / "home")
    assert not (work / MARKER).exists(), "code planted by an earlier session ran in the builtin's"
    assert (work / "chart-total-revenue-by-region.png").read_bytes().startswith(b"\x89PNG"), "the real matplotlib"
    assert "- Total revenue by region: North 31,800, West 20,600" in shown, "the forged facts file changed nothing"
    assert "99,999" not in shown
    record(
        "builtin.planted_module",
        executor,
        "blocked",
        "the builtin imports its runtime from autorun's read-only package, the work dir off sys.path",
    )
    record("builtin.forged_facts", executor, "blocked", "figures travel in the session's record, no file is read")
