"""Keep the standard output of ``lintseq init-model`` and ``lintseq train`` to what the commands say.

DeepSpeed, once installed, is imported by ``transformers`` and ``accelerate`` whenever a model is saved or
trained, and its logger writes to standard output, starting with a warning at import time that the CPU
is the accelerator (on every machine without a GPU, where it tells the user nothing). Called from a
command's ``main`` (never at import time), :func:`quiet_third_party_output` imports DeepSpeed with that
output captured, drops the accelerator warning, and sends DeepSpeed's other messages to standard error.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import sys

DEEPSPEED_LOGGER = "DeepSpeed"
# Says the CPU is used when no GPU was detected: true of every CPU run, and never actionable there.
DROPPED_MESSAGES = ("Setting accelerator to CPU",)


def _keep(record: logging.LogRecord) -> bool:
    return not any(text in record.getMessage() for text in DROPPED_MESSAGES)


def quiet_third_party_output() -> None:
    """Import DeepSpeed (when installed) so that nothing it logs reaches standard output."""
    if importlib.util.find_spec("deepspeed") is None:
        return
    captured = io.StringIO()
    if "deepspeed" not in sys.modules:
        # A broken DeepSpeed install is reported where it is used, not here.
        with contextlib.redirect_stdout(captured), contextlib.suppress(Exception):
            import deepspeed  # noqa: F401  (its logger is created, and logs, during this import)
    logger = logging.getLogger(DEEPSPEED_LOGGER)
    for handler in logger.handlers:
        # The handler kept the stream that stdout was when it was created (here: the capture).
        if isinstance(handler, logging.StreamHandler) and any(
                handler.stream is stream for stream in (captured, sys.stdout, sys.__stdout__)):
            handler.setStream(sys.stderr)
    if _keep not in logger.filters:
        logger.addFilter(_keep)
    for line in captured.getvalue().splitlines():
        if line.strip() and not any(text in line for text in DROPPED_MESSAGES):
            print(line, file=sys.stderr)
