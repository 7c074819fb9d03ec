"""The examples in the evaluation modules' docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["hub_tools.evaluation", "hub_tools.evaluation.pass_at_k", "hub_tools.evaluation.problems",
           "hub_tools.evaluation.sandbox.config", "hub_tools.evaluation.sandbox.pool", "hub_tools.evaluation.scoring",
           "hub_tools.evaluation.sandbox.values", "hub_tools.evaluation.sandbox.checks", "hub_tools.evaluation.evalplus",
           "hub_tools.inference.local", "hub_tools.inference.loading", "hub_tools.inference.progress",
           "hub_tools.problem_files", "hub_tools.progress", "hub_tools.inference.sample_streams"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
