"""Evaluation: HumanEval / MBPP pass@k with sandboxed execution."""
