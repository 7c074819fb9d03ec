"""Programs indented with tabs or two spaces: counted and told, and sampled as usual on request.

pylint's bad-indentation (W0311), one of the paper's counted messages, expects four spaces a level, so it
flags every indented line of such a program and its path writes all of them in one edit. A run says how
many programs that hit, in its summary, ``lintseq_config.json`` and the card; ``--ignore-init-errors`` (the
paper's option) samples them like the others, and ``lintseq verify`` accepts the result.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub_tools.lintseq.lines import indentation_unit

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)


def reindent(program: str, unit: str) -> str:
    """``program`` with each leading group of four spaces written as ``unit``."""
    lines = []
    for line in program.split("\n"):
        stripped = line.lstrip(" ")
        levels, rest = divmod(len(line) - len(stripped), 4)
        lines.append(unit * levels + " " * rest + stripped)
    return "\n".join(lines)


def test_the_unit_is_the_first_indented_blocks(stdlib_modules):
    for name, text in stdlib_modules[:10]:
        assert indentation_unit(text) in ("    ", None), name
        if indentation_unit(text) is None:
            continue
        assert indentation_unit(reindent(text, "\t")) == "\t", name
        assert indentation_unit(reindent(text, "  ")) == "  ", name
    # Continuation lines and text inside brackets are no block; an untokenizable text has no unit.
    assert indentation_unit("x = (1,\n       2)\nif x:\n  pass") == "  "
    assert indentation_unit("x = (\n") is None


@pytest.fixture(scope="module")
def mixed_source(tmp_path_factory, humaneval_corpus) -> Path:
    # Programs with blocks nested two deep, so a path has room for several edits.
    nested = [program for program in humaneval_corpus if "\n            " in program and len(program.split("\n")) > 12]
    rows = [{"instruction": f"Four spaces {i}.", "response": program} for i, program in enumerate(nested[:3])]
    rows.append({"instruction": "Tabs.", "response": reindent(nested[3], "\t")})
    rows.append({"instruction": "Two spaces.", "response": reindent(nested[4], "  ")})
    folder = tmp_path_factory.mktemp("indentation")
    source = folder / "source.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return source


def _edits(folder: Path) -> dict[str, list[int]]:
    edits: dict[str, list[int]] = {}
    for shard in sorted((folder / "data" / "lintseq").glob("*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            edits.setdefault(row["instruction"], []).append(row["num_edits"])
    return edits


def test_programs_not_indented_with_four_spaces_are_counted_and_told(mixed_source, tmp_path):
    out = tmp_path / "out"
    result = folders.generate(str(mixed_source), "--output-dir", str(out), "--num-paths", "3", "--workers", "1")
    edits = _edits(out)
    # W0311 on every indented line: the first deletion takes them all, and the path is one or two edits.
    assert max(edits["Tabs."] + edits["Two spaces."]) <= 2, edits
    assert min(sum(edits[f"Four spaces {i}."]) for i in range(3)) > 6, edits
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    other = stats["other_indentation"]
    assert other["programs"] == 2 and other["units"] == {"tabs": 1, "2 spaces": 1}, other
    assert other["edits_per_program"] < other["others_edits_per_program"], other
    assert "indentation: 2 programs are not indented with four spaces (tabs 1, 2 spaces 1)" in result.stdout
    card = (out / "README.md").read_text()
    assert "| not indented with four spaces | 2 programs (tabs: 1, 2 spaces: 1)" in card


def test_ignore_init_errors_samples_them_and_verify_accepts_the_result(mixed_source, tmp_path):
    out = tmp_path / "out"
    result = folders.generate(str(mixed_source), "--output-dir", str(out), "--num-paths", "3", "--workers", "1",
                              "--ignore-init-errors")
    edits = _edits(out)
    assert sum(edits["Tabs."]) > 6 and sum(edits["Two spaces."]) > 6, edits
    settings = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]
    assert settings["lintseq"]["ignore_init_errors"] is True and "other_indentation" not in settings["stats"]
    assert "indentation:" not in result.stdout
    assert "--ignore-init-errors" in (out / "README.md").read_text()  # the card's command writes it again
    verify = subprocess.run([sys.executable, "-m", "hub_tools.cli", "verify", str(out)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # The same folder asked for without the option is another run: refused, not replaced.
    again = folders.generate(str(mixed_source), "--output-dir", str(out), "--num-paths", "3", check=False)
    assert again.returncode == 2 and "ignore_init_errors" in again.stderr, again.stderr
