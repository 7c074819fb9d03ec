"""Run untrusted programs, each in a fresh isolated process, and decide their verdicts outside them.

The pool (:mod:`~hub_tools.evaluation.sandbox.pool`) is what callers use; the other modules are its parts:
the templates and their jobs (``template``), the isolation levels (``isolation``), the process inside
(``runner``, with ``kernel``, ``namespaces``, ``guard`` and ``values``: standard library only, sent into
the sandbox as source), and the tests judged in the evaluator (``checks``).
"""

from hub_tools.evaluation.sandbox.config import SandboxConfig
from hub_tools.evaluation.sandbox.pool import Sandbox, run_programs
from hub_tools.evaluation.sandbox.template import STATUSES, ExecutionResult, Job, WorkerStopped

__all__ = ["STATUSES", "ExecutionResult", "Job", "Sandbox", "SandboxConfig", "WorkerStopped", "run_programs"]
