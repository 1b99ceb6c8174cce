"""Code planted in the work dir by one session must not run in place of an installed module in the next.

The work dir is last on sys.path in the kernel and in per-process python blocks, so a
`pandas.py` or `matplotlib/` left there never shadows the real package; a module the
model saved on purpose (AutoGen's `# filename: helpers.py`) still imports.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.harness import check_common, replies_for, run_probe
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
