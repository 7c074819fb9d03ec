"""What datatrove's logger prints on this process's console while an executor runs.

datatrove logs through loguru to stderr: the pipeline, each task's statistics, the launch of a Slurm job, the
end of a Ray run. With ``--no-progress`` the console is to hold only what needs a reader, so
:func:`warnings_only` lets through warnings and errors alone for the length of the run; the tasks' own lines
still go to their log files under the logging folder (tasks that run here are quieted by the local executor,
see :mod:`hub_tools.datagen.distributed.launcher`).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def warnings_only(enabled: bool, shown: Callable[[dict], bool] = lambda record: True) -> Iterator[None]:
    """Within the block, datatrove's logger prints warnings and errors only (those ``shown`` keeps), when
    ``enabled``; afterwards datatrove's own console setting is back."""
    if not enabled:
        yield
        return
    from datatrove.utils.logging import logger, setup_default_logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING", filter=shown)
    try:
        yield
    finally:
        setup_default_logger()
