"""LintSeq generation on datatrove (local pool, Slurm, Ray): pipeline steps and the ``--executor`` runs.

Needs the ``distributed`` extra (``pip install "hub-tools[distributed]"``); the rest of the package never
imports it.
"""

from hub_tools.datagen.distributed.launcher import DistributedRun, ExecutorConfig
from hub_tools.datagen.distributed.steps import (
    LintSeqParquetWriter,
    LintSeqPartWriter,
    LintSeqReader,
    LintSeqSampler,
)

__all__ = ["DistributedRun", "ExecutorConfig", "LintSeqParquetWriter", "LintSeqPartWriter", "LintSeqReader",
           "LintSeqSampler"]
