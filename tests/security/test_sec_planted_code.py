"""Code planted in the work dir by one session must not run in place of an installed module in the next.

The work dir is last on sys.path in the kernel and in per-process python blocks, so a
`pandas.py` or `matplotlib/` left there never shadows the real package; a module the
model saved on purpose (AutoGen's `# filename: helpers.py`) still imports.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.fake_openai_server import FakeOpenAIServer
from tests.security.harness import check_common, cli_command, cli_env, replies_for, run_probe
from tests.security.probes import record

TRAP = "import pathlib\npathlib.Path({marker!r}).write_text(__name__)\nraise SystemExit('planted code ran')\n"


def plant(work: Path) -> None:
    """What an earlier session's block can leave in the work dir (it may write anything there)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "pandas.py").write_text(TRAP.format(marker="SHADOWED-pandas"))
    (work / "matplotlib").mkdir()
    (work / "matplotlib" / "__init__.py").write_text(TRAP.format(marker="SHADOWED-matplotlib"))


USE = """
    import matplotlib, pandas
    print("pandas from", pandas.__file__)
    print("matplotlib from", matplotlib.__file__)
"""


@pytest.mark.parametrize("stateful", [True, False], ids=["kernel", "process"])
def test_a_module_planted_for_the_next_session(executor: str, tmp_path: Path, stateful: bool) -> None:
    plant(tmp_path / "work")
    second = run_probe(executor, tmp_path, replies_for([USE]), stateful=stateful)
    check_common(second)
    output = second.output()
    work = second.work_dir
    assert not list(work.glob("SHADOWED-*")), f"the planted module ran: {output}"
    assert second.results()[0].exit_code == 0, output
    assert "pandas from" in output and "/workspace/pandas.py" not in output and str(work / "pandas.py") not in output
    assert "site-packages" in output or "dist-packages" in output, output
    record("fs.planted_module", executor, "blocked", "the work dir is last on sys.path (kernel and process)")


@pytest.mark.parametrize("stateful", [True, False], ids=["kernel", "process"])
def test_a_module_the_model_saved_still_imports(executor: str, tmp_path: Path, stateful: bool) -> None:
    """AutoGen's pattern: save a module with `# filename:`, import it in a later block."""
    replies = [
        "Save a helper.\n\n```python\n# filename: helpers.py\ndef answer():\n    return 42\n```",
        "Use it.\n\n```python\nimport helpers\nprint('answer', helpers.answer())\n```",
        "Done.\n\nTERMINATE",
    ]
    run = run_probe(executor, tmp_path, replies, stateful=stateful)
    check_common(run)
    assert run.output(1).strip() == "answer 42", run.output(1)


def test_python_m_autorun_run_from_the_work_dir(executor: str, tmp_path: Path) -> None:
    """`python -m autorun` puts its cwd first on autorun's own sys.path: run there, a block could plant
    a module (typer) that autorun's own process imports next time, unsandboxed."""
    work, home, marker = tmp_path / "work", tmp_path / "home", tmp_path / "host-marker"
    work.mkdir()
    home.mkdir()
    plant = f"""
        import pathlib
        pathlib.Path("typer").mkdir(exist_ok=True)
        trap = "import pathlib\\npathlib.Path({str(marker)!r}).write_text('ran on the host')\\nraise ImportError\\n"
        pathlib.Path("typer/__init__.py").write_text(trap)
        print("planted")
    """
    runs = []
    for _ in range(2):
        with FakeOpenAIServer([{"reply": text} for text in replies_for([plant])]) as server:
            command = [*cli_command(SAMPLE, server.base_url, Path("."))]
            runs.append(
                subprocess.run(
                    command, env=cli_env(executor, home), cwd=work, capture_output=True, text=True, timeout=120
                )
            )
    if executor == "local":
        assert marker.exists(), runs[0].stdout + runs[0].stderr + runs[1].stdout + runs[1].stderr
        record("host.cwd_on_sys_path", executor, "allowed", "the code runs as you: it could write any module itself")
        return
    assert not marker.exists(), "autorun's own process imported a module a sandboxed block planted"
    assert all(run.returncode == 2 and "contains autorun's own installation" in run.stderr for run in runs)
    assert not (work / "typer").exists()
    record("host.cwd_on_sys_path", executor, "blocked", "a work dir on autorun's own sys.path is refused")
