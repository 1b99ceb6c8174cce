"""Paste the real output of `autorun analyse sample_data/sales.csv` into README.md.

Runs the README's main command in a fresh directory (a copy of the sample, no API key,
the installed `autorun`) and replaces what stands between the main-output markers:
stderr and the end of stdout as a console block, then the whole stdout in a <details>.
Usage: .venv/bin/python scripts/readme-output.py [DEMO_DIR]   (default /tmp/readme-demo)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- main-output:start -->", "<!-- main-output:end -->"
COMMAND = "autorun analyse sample_data/sales.csv"


def run(demo: Path) -> tuple[str, str]:
    shutil.rmtree(demo, ignore_errors=True)
    (demo / "sample_data").mkdir(parents=True)
    shutil.copy(REPO / "sample_data" / "sales.csv", demo / "sample_data" / "sales.csv")
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    autorun = Path(sys.executable).with_name("autorun")
    done = subprocess.run(
        [str(autorun), *COMMAND.split()[1:]], cwd=demo, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{COMMAND} exited {done.returncode}:\n{done.stderr}")
    return done.stdout, done.stderr


def section(stdout: str, stderr: str) -> str:
    blocks = len(re.findall(r"^--- (?:python|sh) block \d+ ---$", stdout, re.MULTILINE))
    final = stdout[stdout.rindex("--- assistant (builtin) ---") :]
    console = f"$ {COMMAND}\n{stderr}[... {blocks} code blocks and their output: see the full run below ...]\n{final}"
    return (
        f"{START}\n```console\n{console.rstrip()}\n```\n\n"
        "<details><summary>The full output (stdout) of that run: each step's code and its output</summary>\n\n"
        f"```text\n{stdout.rstrip()}\n```\n\n</details>\n{END}"
    )


def main() -> None:
    demo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/readme-demo")
    stdout, stderr = run(demo)
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(START), text.index(END) + len(END)
    readme.write_text(text[:start] + section(stdout, stderr) + text[end:], encoding="utf-8")
    print(f"README.md: pasted the output of {COMMAND} run in {demo}", file=sys.stderr)


if __name__ == "__main__":
    main()
