"""The builtin's runtime as shipped: importable under `python -I` in an empty directory, from autorun's
package alone (no host-only module, nothing from the work dir), with no undefined name in any function."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from autorun.models.builtin import RUNTIME_ROOT

CHECK = """
import builtins, dis, json, sys, types
sys.path.insert(0, ROOT)
import autorun.analyst.steps
modules = sorted(m for m in sys.modules if m == "autorun" or m.startswith("autorun."))
undefined = []
for name in modules:
    module = sys.modules[name]
    source = getattr(module, "__file__", None)
    if not source:
        continue
    stack = [compile(open(source, encoding="utf-8").read(), source, "exec")]
    while stack:
        code = stack.pop()
        stack += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        for ins in dis.get_instructions(code):
            if ins.opname == "LOAD_GLOBAL" and ins.argval not in vars(module) and not hasattr(builtins, ins.argval):
                undefined.append(f"{name}: {ins.argval} ({code.co_name})")
host_only = [m for m in ("pydantic", "typer", "rich", "openai", "jinja2", "yaml", "jupyter_client") if m in sys.modules]
print(json.dumps({"modules": modules, "undefined": undefined, "host_only": host_only, "path": sys.path}))
"""


def test_the_runtime_imports_isolated_from_autoruns_package_alone(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("raise SystemExit('the work dir shadowed the standard library')\n")
    proc = subprocess.run(
        [sys.executable, "-I", "-c", f"ROOT = {RUNTIME_ROOT!r}\n" + CHECK],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["undefined"] == [], found["undefined"]
    assert found["host_only"] == [], "the runtime must run where only pandas and DuckDB are installed"
    assert "autorun.analyst.steps" in found["modules"] and "autorun.session" not in found["modules"]
    assert not any(m.startswith(("autorun.models", "autorun.executors", "autorun.config")) for m in found["modules"])


def test_a_block_run_as_a_script_in_the_work_dir_imports_nothing_from_it(tmp_path: Path) -> None:
    """A process block's script sits in the work dir, which Python puts first on sys.path: the runtime drops it."""
    (tmp_path / "matplotlib").mkdir()
    (tmp_path / "matplotlib" / "__init__.py").write_text("open('PLANTED', 'w').write('ran')\n")
    script = tmp_path / "block.py"
    script.write_text(
        f"import sys\n\nsys.path.insert(0, {RUNTIME_ROOT!r})\nfrom autorun.analyst.steps import load_step\n"
        "import matplotlib\nprint(matplotlib.__file__)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PLANTED").exists() and str(tmp_path) not in proc.stdout
