"""A persistent Python kernel per session (ipykernel, driven with jupyter_client).

The kernel process is started by the executor that owns it (local, bwrap sandbox or
Docker container), so it is limited and sandboxed exactly like a block; this package
talks to it over Jupyter's ``ipc`` transport (Unix sockets in a private 0700
directory) and turns its messages into the executor's streamed output and result.
Importing this package is cheap: jupyter_client is imported when a kernel starts.
"""

from autorun.executors.kernel.driver import KernelDriver
from autorun.executors.kernel.host import KernelHost, KernelProcess, PopenKernelProcess
from autorun.executors.kernel.outcome import KernelOutcome, KernelUnavailable

__all__ = [
    "KernelDriver",
    "KernelHost",
    "KernelOutcome",
    "KernelProcess",
    "KernelUnavailable",
    "PopenKernelProcess",
]
