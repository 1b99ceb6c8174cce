"""Host-side files: nothing autorun's own process does may follow what a block planted.

The attack of issue 16: a block plants symlinks, in every directory it can write that
autorun's process also uses (the kernel's socket directory, the sandbox's home, the work
dir), pointing at a host file it cannot see (root-only, 0600 in a 0700 directory) and at
the data file; the next block kills the kernel (``os._exit(1)``), so autorun starts a new
one and writes its files; a third block looks for a descriptor of the target among its own
and writes through it. autorun must create nothing through the links, hand the new kernel
no descriptor of the target, and remove the shared directories at the end without
following the links either.
"""

from __future__ import annotations

import os
import stat
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.security.harness import check_common, replies_for, run_probe
from tests.security.probes import record

MARK = b"* * * * * root touch /tmp/autorun-pwned\n"


def secret_file(tmp_path: Path) -> Path:
    """A root-only file the sandbox cannot see: 0600 in a 0700 directory."""
    folder = tmp_path / "root-only"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    secret = folder / "crontab"
    secret.write_text("# root's own\n")
    secret.chmod(0o600)
    return secret


def plant_code(generation: int, target: Path, keep_dir: Path) -> str:
    """Symlinks named like everything a kernel start of ``generation`` may write, in every shared directory."""
    return f"""
        import os, sys
        shared = {{os.getcwd(), os.path.expanduser("~")}}
        for i, arg in enumerate(sys.argv[:-1]):
            if arg == "-f":
                shared.add(os.path.dirname(sys.argv[i + 1]))
        if os.environ.get("IPYTHONDIR"):
            shared.add(os.path.dirname(os.environ["IPYTHONDIR"]))
        planted = 0
        for folder in sorted(shared):
            names = [f"kernel-{generation}{{s}}" for s in (".log", ".sh", ".out", ".err")]
            names += [f"k{generation}.log", "kernel.log", "kernel.sh", "keep-me"]
            for name in names:
                path = os.path.join(folder, name)
                try:
                    if os.path.lexists(path):
                        os.remove(path)
                    os.symlink({str(keep_dir)!r} if name == "keep-me" else {str(target)!r}, path)
                    planted += 1
                except OSError as exc:
                    print("cannot plant", path, exc.strerror)
        print("planted", planted, "links in", sorted(shared))
    """


def write_through_code(inodes: set[int]) -> str:
    """Write the attacker's bytes through any descriptor this process holds of a target."""
    return f"""
        import os, stat
        hits = []
        for name in os.listdir("/proc/self/fd"):
            try:
                info = os.fstat(int(name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_ino in {sorted(inodes)!r}:
                try:
                    os.pwrite(int(name), {MARK!r}, 0)
                    hits.append(int(name))
                except OSError as exc:
                    print("cannot write fd", name, exc.strerror)
        print("wrote through", hits)
    """


def test_links_planted_for_a_kernel_restart(executor: str, tmp_path: Path) -> None:
    secret = secret_file(tmp_path)
    keep_dir = tmp_path / "keep"
    keep_dir.mkdir()
    (keep_dir / "precious").write_text("keep me")
    data = tmp_path / "input" / "sales.csv"
    data.parent.mkdir()
    data.write_bytes(SAMPLE.read_bytes())
    before = {path: (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) for path in (secret, data)}
    inodes = {secret.stat().st_ino, data.stat().st_ino}
    blocks = [
        plant_code(2, secret, keep_dir),
        "import os; os._exit(1)",
        write_through_code(inodes) + plant_code(3, data, keep_dir),
        "import os; os._exit(1)",
        write_through_code(inodes),
    ]
    run = run_probe(executor, tmp_path, replies_for(blocks), data_file=data)
    check_common(run)
    outputs = [result.output for result in run.results()]
    assert len(outputs) == len(blocks), outputs
    for path, (content, mode) in before.items():
        assert path.read_bytes() == content, f"{path.name} was written through a planted link: {outputs}"
        assert stat.S_IMODE(path.stat().st_mode) == mode
    assert "planted" in outputs[0] and "planted" in outputs[2], outputs
    assert "the kernel died" in outputs[1] and "the kernel died" in outputs[3], outputs
    assert "wrote through []" in outputs[2] and "wrote through []" in outputs[4], outputs
    assert (keep_dir / "precious").read_text() == "keep me", "the clean-up followed a planted link"
    assert os.listdir(secret.parent) == [secret.name]
    note = {
        "local": "autorun's own process never follows them (the code itself can write what you can: see above)",
        "sandbox": "kernel logs and start files are host-only; the socket dir is only connected to and removed by fd",
        "docker": "kernel start files are mounted read-only; the socket dir is only connected to and removed by fd",
    }[executor]
    record("host.kernel_restart_links", executor, "blocked", note)


@pytest.fixture
def host_secret() -> Iterator[Path]:
    """A root-only host file right in /tmp: a sandbox has a /tmp too, so a bind target there can be made."""
    fd, name = tempfile.mkstemp(prefix="probe-secret-", suffix=".csv", dir="/tmp")
    os.write(fd, b"secret,host,file\n")
    os.close(fd)
    os.chmod(name, 0o600)
    try:
        yield Path(name)
    finally:
        os.unlink(name)


def test_a_data_folder_in_the_work_dir_swapped_for_a_link(executor: str, tmp_path: Path, host_secret: Path) -> None:
    """The data file lies in work/input/; a block moves input/ away and makes input/sales.csv a link to a
    root-only host file. Neither the next block (a new sandbox) nor the next session may be shown that file."""
    data = tmp_path / "work" / "input" / "sales.csv"
    data.parent.mkdir(parents=True)
    data.write_bytes(SAMPLE.read_bytes())
    swap = f"""
        import os
        os.rename("input", "moved")
        os.mkdir("input")
        os.symlink({str(host_secret)!r}, "input/sales.csv")
        print("swapped")
    """
    replies = [
        f"Swap.\n\n```python\n{textwrap.dedent(swap).strip()}\n```",
        "Read.\n\n```sh\nhead -c 40 input/sales.csv; echo\n```",
        "TERMINATE",
    ]
    run = run_probe(executor, tmp_path, replies, data_file=data, session_id=f"swap{tmp_path.name[-8:]}")
    assert "swapped" in run.output(0), run.output(0)
    if executor == "local":
        assert "secret" in run.output(1)
        record("host.swapped_data_dir", executor, "allowed", "the code runs as you: it can read the file itself")
        return
    assert "secret" not in run.output(1), "a host file came in through the swapped folder"
    again = run_probe(executor, tmp_path, replies_for(["print(open(DATA).read()[:40])"]), data_file=data)
    assert again.exit_code == 2 and "symlink inside the work dir" in str(again.error), again.error
    assert "secret" not in again.shown()
    note = "bound by an fd opened at the start" if executor == "sandbox" else "mounted once, at the container's start"
    record("host.swapped_data_dir", executor, "blocked", f"{note}; a later session refuses the linked path")
