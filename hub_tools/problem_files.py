"""Reading benchmark problem files: what ``lintseq eval`` and ``lintseq generate --decontaminate`` share.

A problem file is JSON Lines (one object a line), a JSON array, or Parquet, optionally gzipped (EvalPlus
ships ``HumanEvalPlus-v0.1.10.jsonl.gz``). Benchmarks are small and a broken file is the user's to fix, so
the first bad line stops with one line naming the file and the line, instead of being skipped.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from hub_tools.errors import UserError, one_line, reason
from hub_tools.recursion_budget import at_any_depth


def read_problem_rows(path: str | Path) -> list:
    """The rows of one problem file (see the module docstring).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        ...     _ = handle.write('{"task_id": "T/0"}\\n\\n{"task_id": "T/1"}\\n')
        >>> [row["task_id"] for row in read_problem_rows(handle.name)]
        ['T/0', 'T/1']
    """
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet

        try:
            return pyarrow.parquet.read_table(path).to_pylist()
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
            raise UserError(f"{path}: not a readable Parquet file ({one_line(error, 200)})") from None
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read it ({error})") from None
    if text.lstrip().startswith("["):
        return _decoded_json(text, str(path), "a JSON list of problems")
    rows = []
    # Lines end at "\n" alone: JSON text may hold U+2028, U+2029 and U+0085 unescaped inside a string, where
    # str.splitlines() would cut the row in two.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            rows.append(decoded_json_line(line, f"{path}:{number}"))
    return rows


def decoded_json_line(line: str, where: str):
    """The value one line of JSON Lines holds, or a one-line :class:`UserError` starting with ``where``.

    >>> decoded_json_line('{"task_id": "T/0"}', "f.jsonl:1")
    {'task_id': 'T/0'}
    """
    return _decoded_json(line, where, "a JSON object")


def _decoded_json(text: str, where: str, expected: str):
    """The value ``text`` holds, or a one-line :class:`UserError`: ``<where>: not <expected> (why)``."""
    try:
        return at_any_depth(json.loads, text)  # the same answer from any caller (hub_tools.recursion_budget)
    except json.JSONDecodeError as error:
        why = str(error)
    except RecursionError:
        why = "nested too deeply to decode"
    except ValueError as error:  # a number of more digits than Python reads
        why = reason(error)
    raise UserError(f"{where}: not {expected} ({why})") from None
