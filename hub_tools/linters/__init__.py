"""Linter backends: program text in, errors with line numbers out."""
