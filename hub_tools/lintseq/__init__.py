"""The LintSeq core: pure algorithm and diffs (standard library and numpy only, no I/O)."""
