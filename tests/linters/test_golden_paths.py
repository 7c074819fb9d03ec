"""Speed work on the linter must not change a single edit path: golden hashes of paths on a fixed corpus.

The hashes in ``golden_paths.json`` were recorded with the plain linter (one full pylint analysis per call,
no result reuse) before any of the speed-ups of :mod:`hub_tools.linters.pylint_backend` existed. They were
re-recorded once, for a correction of results, not of speed: the linter now reports E1111
(assignment-from-no-return) as a pylint run on a file does (6 of 602 paths of a wider check changed); the
pre-speed-up linter with that same correction gives exactly the new hashes. And a second time, for the
line a syntax error flags: an error that names its line ("expected an indented block after 'if'
statement on line N") now flags line N, as the paper's implementation does, instead of the line where
parsing stopped (which made an emptied block delete every statement after it). Every
path is a pure function of (program, seed, config, profile, Python/pylint/astroid versions), so with the
same versions the paths must hash the same; on other versions the comparison is meaningless and skipped.
``versions`` lists every set of versions the hashes were checked under (pylint 4.1.5 with astroid 4.4.0 gave
all 136 paths of 4.1.4 with 4.3.4); on a new release, check and add it, so the test keeps running:

    PYTHONPATH=$PWD .venv/bin/python tests/linters/test_golden_paths.py --add-versions

Re-record (only when a change of results is intended, and say why in the commit):

    PYTHONPATH=$PWD .venv/bin/python tests/linters/test_golden_paths.py --write
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).with_name("golden_paths.json")


def _corpus():
    spec = importlib.util.spec_from_file_location(
        "golden_corpus", Path(__file__).resolve().parents[2] / "benchmarks" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def golden_programs() -> dict[str, list[tuple[str, str]]]:
    """(name, program) per profile: functions and whole standard-library modules, pragma-free."""
    corpus = _corpus()
    functions = [(f"humaneval/{index}", text) for index, text in enumerate(corpus.humaneval_programs()[:60])]
    functions += [(f"stdlib-function/{index}", text) for index, text in enumerate(corpus.stdlib_functions(40))]
    modules = [module for module in corpus.whole_modules(80, 140, stdlib_only=True) if "pylint:" not in module[1]]
    portable = functions + modules[:5]
    return {"portable": portable, "reference": functions[:30] + modules[:1]}


def path_hashes(profile: str, programs: list[tuple[str, str]]) -> dict[str, str]:
    from hub_tools.linters import PylintLinter
    from hub_tools.lintseq import sample_edit_path

    linter = PylintLinter(profile, timeout=None)  # paths, not the machine's load, are compared
    hashes = {}
    for index, (name, program) in enumerate(programs):
        path = sample_edit_path(program, linter, seed=index)
        record = json.dumps({"deletions": path.deletions, "diffs": path.diffs})
        hashes[name] = hashlib.sha256(record.encode()).hexdigest()[:16]
    return hashes


def _versions() -> dict[str, str]:
    from hub_tools.linters import PylintLinter

    return PylintLinter().versions


@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_paths_identical_to_golden(profile):
    golden = json.loads(GOLDEN.read_text())
    if _versions() not in golden["versions"]:
        pytest.skip(f"golden paths checked under {golden['versions']}, this is {_versions()}")
    expected = golden["paths"][profile]
    got = path_hashes(profile, golden_programs()[profile])
    assert list(got) == list(expected)  # the same corpus
    changed = [name for name in expected if got[name] != expected[name]]
    assert not changed, f"{len(changed)} paths changed: {changed[:10]}"


if __name__ == "__main__" and ("--write" in sys.argv or "--add-versions" in sys.argv):
    programs = golden_programs()
    paths = {profile: path_hashes(profile, programs[profile]) for profile in ("portable", "reference")}
    if "--add-versions" in sys.argv:  # the same hashes under these versions, or nothing is written
        golden = json.loads(GOLDEN.read_text())
        if paths != golden["paths"]:
            sys.exit("paths differ under these versions: re-record with --write only for an intended change")
        versions = golden["versions"] + ([_versions()] if _versions() not in golden["versions"] else [])
    else:
        versions = [_versions()]
    GOLDEN.write_text(json.dumps({"versions": versions, "paths": paths}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
