"""`executor.type: sandbox`: run every block (and the kernel) inside bubblewrap (Linux).

The code gets private user, PID, network, IPC, UTS and cgroup namespaces and sees:
read-only system directories (/usr, /bin, /lib...) and its Python installation, a
minimal /etc (see ETC_FILES: no shadow, no ssh keys, no admin's secrets), an empty
/tmp, a home directory of its own (empty at the session start, kept between blocks
for font and matplotlib caches), the work directory (read-write) and the exposed
data files (read-only).
Inside, it runs as uid/gid 65534 with every capability dropped (`CapEff` is zero) —
also when autorun runs as root, where bwrap would otherwise keep root's capabilities.
bwrap itself starts with an empty environment, so /proc/1/environ inside (bwrap's
init) holds nothing; the scrubbed variables reach the code through --setenv.
`executor.network: host` shares the host's network (for a knowing `pip install`);
`none` (the default) leaves only a loopback interface. When autorun kills bwrap,
the kernel kills everything in the block's PID namespace, daemons included.

Residual: the user namespace maps the sandbox uid to the uid running autorun, so a
file that user owns inside the read-only system directories stays readable by it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from autorun.errors import ExecutorError
from autorun.executors.hostdir import ETC_PART, HOME_PART, HostDir
from autorun.nofollow import remove_tree

SANDBOX_UID = 65534
SANDBOX_GID = 65534
SANDBOX_HOME = "/home/sandbox"
SandboxNetwork = Literal["none", "host"]  # executor.network, checked by executors.choice for the sandbox
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What Python, pandas, matplotlib, fonts, TLS and a POSIX shell read in /etc; nothing else.
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "protocols",
    "services",
    "mime.types",
    "alternatives",
    "fonts",
    "matplotlibrc",
    "ssl/certs",
    "ssl/openssl.cnf",
    "ca-certificates",
    "ca-certificates.conf",
    "pki/tls/certs",
    "pki/ca-trust",
    "crypto-policies",
    "os-release",
)
NETWORK_ETC_FILES = ("resolv.conf", "hosts")
HOSTS_NONE = "127.0.0.1\tlocalhost\n::1\tlocalhost\n"
APPARMOR_SYSCTL = "kernel.apparmor_restrict_unprivileged_userns"
INSTALL_HINT = "install bubblewrap (`apt install bubblewrap`, `dnf install bubblewrap`)"


_PATH_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_CLOEXEC", 0)


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def binds_fds(bwrap: str) -> bool:
    """Whether this bwrap has --ro-bind-fd (bind an open descriptor, race-free)."""
    try:
        found = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--ro-bind-fd" in found.stdout + found.stderr


def require_bwrap() -> str:
    path = find_bwrap()
    if path is None:
        raise ExecutorError(
            f"executor.type is sandbox but bubblewrap is not installed; {INSTALL_HINT} "
            "or choose another executor (--local, --docker IMAGE)."
        )
    return path


def python_roots(interpreter: str) -> list[str]:
    """Directories an interpreter needs: its venv and the installation the venv is based on."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix} if interpreter == sys.executable else set()
    for path in (Path(interpreter).absolute(), Path(interpreter).resolve()):
        roots.add(str(path.parent.parent))
    return sorted(root for root in roots if root not in ("/", "/usr") and not root.startswith("/usr/"))


def sandbox_etc(directory: Path, network: SandboxNetwork) -> Path:
    """Write the sandbox's own passwd, group and (without network) hosts files into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "passwd").write_text(
        f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"sandbox:x:{SANDBOX_UID}:{SANDBOX_GID}:autorun sandbox:{SANDBOX_HOME}:/usr/sbin/nologin\n",
        encoding="utf-8",
    )
    (directory / "group").write_text(f"root:x:0:\nsandbox:x:{SANDBOX_GID}:\n", encoding="utf-8")
    (directory / "hostname").write_text("sandbox\n", encoding="utf-8")
    if network == "none":
        (directory / "hosts").write_text(HOSTS_NONE, encoding="utf-8")
    return directory


@dataclass(frozen=True)
class SandboxSpec:
    """What one sandbox shows of the host; ``bwrap_args`` turns it into a command line."""

    bwrap: str
    work_dir: Path
    interpreter: str
    etc_dir: Path
    network: SandboxNetwork = "none"
    read_only: tuple[Path, ...] = ()
    read_only_fds: tuple[tuple[int, Path], ...] = ()  # (an O_PATH fd the process inherits, where it shows)
    read_write: tuple[Path, ...] = ()  # beside the work dir, e.g. a kernel's private socket directory
    home_dir: Path | None = None  # kept for the session (font and matplotlib caches); None: an empty tmpfs
    host_etc: Path = Path("/etc")
    system_dirs: tuple[str, ...] = SYSTEM_DIRS
    extra_roots: tuple[str, ...] = field(default_factory=tuple)

    def bwrap_args(self, env: Mapping[str, str]) -> list[str]:
        args = [self.bwrap, "--unshare-all"]
        if self.network == "host":
            args.append("--share-net")
        args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID), "--cap-drop", "ALL"]
        args += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
        for directory in self.system_dirs:
            args += _bind_or_link(directory)
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/etc"]
        if self.home_dir is not None:
            args += ["--bind", str(self.home_dir), SANDBOX_HOME]
        else:
            args += ["--tmpfs", SANDBOX_HOME]
        args += self._etc_args()
        for root in (*python_roots(self.interpreter), *self.extra_roots):
            args += ["--ro-bind-try", root, root]
        args += ["--bind", str(self.work_dir), str(self.work_dir)]
        for path in self.read_write:
            args += ["--bind", str(path), str(path)]
        for path in self.read_only:
            args += ["--ro-bind", str(path), str(path)]
        for fd, path in self.read_only_fds:
            args += ["--ro-bind-fd", str(fd), str(path)]
        args.append("--clearenv")
        for name, value in sorted({**env, "HOME": SANDBOX_HOME, "USER": "sandbox", "LOGNAME": "sandbox"}.items()):
            args += ["--setenv", name, value]
        return [*args, "--chdir", str(self.work_dir), "--"]

    def _etc_args(self) -> list[str]:
        args: list[str] = []
        for name in ("passwd", "group", "hostname"):
            args += ["--ro-bind", str(self.etc_dir / name), f"/etc/{name}"]
        host_files = ETC_FILES + (NETWORK_ETC_FILES if self.network == "host" else ())
        if self.network == "none":
            args += ["--ro-bind", str(self.etc_dir / "hosts"), "/etc/hosts"]
        for name in host_files:
            source = self.host_etc / name
            if source.exists():
                args += ["--ro-bind", str(source.resolve()), f"/etc/{name}"]
        return args

    def wrap(self, command: Sequence[str], env: Mapping[str, str]) -> list[str]:
        """``command`` run in the sandbox with ``env``; start the result with an empty environment."""
        return [*self.bwrap_args(env), *command]


def _bind_or_link(directory: str) -> list[str]:
    """Merged-/usr systems have /bin -> usr/bin: recreate the link instead of binding its target twice."""
    path = Path(directory)
    if path.is_symlink():
        return ["--symlink", os.readlink(path), directory]
    return ["--ro-bind-try", directory, directory]


class Sandbox:
    """The bwrap wrapper a host launcher applies to every process it starts (blocks and kernels).

    Its etc (read-only) and home (read-write) directories are parts of the executor's host dir
    (hostdir.py), or of one of its own; ``close`` removes them without following what code planted.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        interpreter: str,
        network: SandboxNetwork = "none",
        bwrap: str | None = None,
        host_dir: HostDir | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.interpreter = interpreter
        self.network = network
        self._bwrap = bwrap
        self._exposed: list[Path] = []
        self._exposed_fds: dict[Path, int] = {}
        self._host_dir = host_dir or HostDir()
        self._own_dir = host_dir is None
        self._parts: tuple[Path, Path] | None = None
        self._checked = False

    def expose(self, path: Path) -> None:
        """Show ``path`` read-only. Where bwrap can, it binds an fd opened now: a data file in a work-dir
        folder that code later swaps for a symlink is still the file the user named."""
        bwrap = self._bwrap or find_bwrap()
        if bwrap is not None and binds_fds(bwrap) and path not in self._exposed_fds:
            self._exposed_fds[path] = os.open(path, _PATH_FLAGS)
        else:
            self._exposed.append(path)

    def pass_fds(self) -> tuple[int, ...]:
        """The descriptors a wrapped process must inherit (Popen's pass_fds)."""
        return tuple(self._exposed_fds.values())

    def wrap(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        read_write: Sequence[Path] = (),
        read_only: Sequence[Path] = (),
    ) -> list[str]:
        bwrap = self._bwrap or require_bwrap()
        if not self._checked:
            problem = sandbox_problem(bwrap)
            if problem:
                raise ExecutorError(
                    f"executor.type is sandbox but bwrap cannot create its namespaces here ({problem}); "
                    "allow unprivileged user namespaces, or choose --local or --docker IMAGE."
                )
            self._checked = True
        if self._parts is None:
            etc = sandbox_etc(self._host_dir.part(ETC_PART), self.network)
            self._parts = (etc, self._host_dir.part(HOME_PART))
        etc, home = self._parts
        spec = SandboxSpec(
            bwrap,
            self.work_dir,
            self.interpreter,
            etc,
            network=self.network,
            home_dir=home,
            read_only=(*self._exposed, *read_only),
            read_only_fds=tuple((fd, path) for path, fd in self._exposed_fds.items()),
            read_write=tuple(read_write),
        )
        return spec.wrap(command, env)

    def close(self) -> None:
        """Remove the home (code wrote there) and etc directories; call it once no sandbox runs."""
        fds, self._exposed_fds = self._exposed_fds, {}
        for fd in fds.values():
            os.close(fd)
        parts, self._parts = self._parts, None
        for part in parts or ():
            with contextlib.suppress(OSError):
                remove_tree(part)
        if self._own_dir:
            with contextlib.suppress(OSError):
                self._host_dir.remove()


def probe_command(bwrap: str) -> list[str]:
    """The smallest sandbox of the kind autorun builds: user namespace, unprivileged uid, no caps."""
    args = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]
    args += ["--cap-drop", "ALL", "--die-with-parent"]
    for directory in SYSTEM_DIRS:
        args += _bind_or_link(directory)
    return [*args, "--proc", "/proc", "--dev", "/dev", "--", "true"]


_problems: dict[str, str | None] = {}


def sandbox_problem(bwrap: str, *, cached: bool = True) -> str | None:
    """None when bwrap can build autorun's sandbox here, else why not (in words a user can act on)."""
    if cached and bwrap in _problems:
        return _problems[bwrap]
    try:
        probe = subprocess.run(
            probe_command(bwrap), capture_output=True, text=True, timeout=10, env={"PATH": "/usr/bin:/bin"}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem: str | None = str(exc)
    else:
        problem = None if probe.returncode == 0 else explain_failure(probe.stderr.strip(), probe.returncode)
    _problems[bwrap] = problem
    return problem


def explain_failure(stderr: str, returncode: int) -> str:
    """bwrap's error, with the likely cause: user namespaces disabled or an AppArmor restriction."""
    text = stderr or f"exit code {returncode}"
    lowered = text.lower()
    if "no permissions to create new namespace" in lowered or "operation not permitted" in lowered:
        if _apparmor_restricts_userns():
            return f"{text}: AppArmor restricts unprivileged user namespaces ({APPARMOR_SYSCTL}=1)"
        if (
            _read_int("/proc/sys/user/max_user_namespaces") == 0
            or _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0
        ):
            return f"{text}: user namespaces are disabled on this machine"
        return f"{text}: user namespaces are not allowed here (a container without them, or a seccomp policy)"
    return text


def _apparmor_restricts_userns() -> bool:
    return _read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def sandbox_status() -> tuple[bool, str]:
    """(works, why): whether `auto` picks the sandbox on this machine, in one phrase."""
    bwrap = find_bwrap()
    if bwrap is None:
        return False, "bubblewrap is not installed"
    problem = sandbox_problem(bwrap)
    if problem:
        return False, f"bwrap cannot create its namespaces ({problem})"
    return True, f"bwrap works ({bwrap})"
