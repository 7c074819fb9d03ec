"""Backward sampling on real code: exact replay, insertion-only diffs, lint-clean states, determinism."""

import difflib
import re
import subprocess
import sys

import pytest

from hub_tools.linters import PylintLinter
from hub_tools.lintseq import (
    LintSeqConfig,
    NoCodeError,
    apply_diffs,
    normalize_program,
    sample_edit_path,
    sample_edit_paths,
)
from hub_tools.lintseq.lines import CandidateOptions, candidate_lines

HEADER = re.compile(r"^@@ -\d+,0 \+\d+(,\d+)? @@$")


def assert_insertion_only(diffs):
    for diff in diffs:
        lines = diff.split("\n")
        assert HEADER.match(lines[0]), diff
        for line in lines[1:]:
            assert line.startswith("+") or HEADER.match(line), diff


@pytest.fixture(scope="module")
def corpus(humaneval_corpus, stdlib_corpus):
    return humaneval_corpus + stdlib_corpus


@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_lintseq_paths_on_real_code(corpus, profile):
    sampling_linter = PylintLinter(profile)
    checking_linter = PylintLinter(profile)  # a separate instance: no state shared with the sampler
    for index, program in enumerate(corpus):
        path = sample_edit_path(program, sampling_linter, seed=index)
        assert apply_diffs(path.diffs) == path.program == normalize_program(program)
        assert_insertion_only(path.diffs)
        assert path.diffs, program
        # Every intermediate program (not the empty start, not the original) is lint-clean and compiles.
        for state in path.states[1:-1]:
            assert checking_linter.lint(state) == [], (index, state)
            compile(state, "<state>", "exec")


def test_random_sampler_on_real_code(corpus):
    for index, program in enumerate(corpus):
        path = sample_edit_path(program, sampler="random", seed=index)
        assert apply_diffs(path.diffs) == path.program
        assert_insertion_only(path.diffs)
        lines = path.program.split("\n")
        # One deletion per candidate line: the ablation deletes the drawn line alone.
        assert len(path.deletions) == len(candidate_lines(lines, CandidateOptions()))
        assert all(len(deletion) == 1 for deletion in path.deletions)


@pytest.mark.parametrize("sampler", ["lintseq", "random"])
def test_same_seed_same_path_different_seeds_differ(humaneval_corpus, sampler):
    linter = PylintLinter() if sampler == "lintseq" else None
    programs = [p for p in humaneval_corpus if len(p.splitlines()) >= 12][:20]
    differing = 0
    for program in programs:
        first = sample_edit_path(program, linter, seed=7, sampler=sampler)
        again = sample_edit_path(program, linter, seed=7, sampler=sampler)
        other = sample_edit_path(program, linter, seed=8, sampler=sampler)
        assert first.diffs == again.diffs
        differing += first.diffs != other.diffs
    assert differing >= len(programs) * 0.8


def test_diffs_match_difflib_where_it_finds_the_insertion(humaneval_corpus):
    """The paper's format is difflib's zero-context unified diff without file headers."""
    linter = PylintLinter()
    compared = 0
    for index, program in enumerate(humaneval_corpus):
        lines = program.strip().split("\n")
        if len(set(lines)) != len(lines):
            continue  # repeated lines: difflib may align them differently (see hub_tools.lintseq.diffs)
        path = sample_edit_path(program, linter, seed=index)
        states = path.states
        for old, new, diff in zip(states[:-1], states[1:], path.diffs, strict=True):
            expected = list(difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm=""))[2:]
            assert diff == "\n".join(expected)
            compared += 1
    assert compared > 150


def test_search_options_population_and_depth(humaneval_corpus):
    linter = PylintLinter()
    program = humaneval_corpus[10]
    config = LintSeqConfig(children_per_round=3, top_k=2, max_population_size=4, max_depth=64)
    paths = sample_edit_paths(program, linter, seed=1, config=config)
    assert 1 <= len(paths) <= 4
    for path in paths:
        assert apply_diffs(path.diffs) == path.program
        assert_insertion_only(path.diffs)

    shallow = sample_edit_path(program, linter, seed=1, config=LintSeqConfig(max_depth=2))
    assert len(shallow.deletions) == 2
    assert len(shallow.diffs) <= 3  # the leftover lines arrive together with the first edit
    assert apply_diffs(shallow.diffs) == shallow.program


def test_indent_bias_prefers_deeper_lines():
    program = "def f(x):\n" + "".join(f"    if x > {i}:\n        x = x - {i}\n" for i in range(8)) + "    return x"
    lines = program.split("\n")

    def deep_first_draws(config):
        # The random sampler deletes exactly the drawn line, so its first deletion is the first draw.
        firsts = [sample_edit_path(program, sampler="random", seed=s, config=config).deletions[0][0] for s in range(300)]
        return sum(lines[line].startswith("        ") for line in firsts) / len(firsts)

    # Weights: 8 lines at depth 2 weigh 2 each, the other 10 candidates 1: P(deep) = 16/26 vs 8/18.
    assert deep_first_draws(LintSeqConfig()) == pytest.approx(16 / 26, abs=0.08)
    assert deep_first_draws(LintSeqConfig(indent_bias=None)) == pytest.approx(8 / 18, abs=0.08)


def test_candidate_options():
    lines = ["import os", "from math import pi", "# comment", "", "TABLE = [", "    1,", "]", "x = os.sep + str(pi)"]
    assert candidate_lines(lines, CandidateOptions()) == [0, 1, 4, 7]
    assert candidate_lines(lines, CandidateOptions(ignore_imports=True)) == [4, 7]
    assert candidate_lines(lines, CandidateOptions(ignore_comments=False, ignore_global_defs=False)) == list(range(8))


def test_ignore_init_errors():
    program = "value = undefined_name\ncount = 1\nprint(count)"
    linter = PylintLinter()
    # Without the option the pre-existing error is induced by the first deletion that leaves it in place.
    strict = sample_edit_path(program, linter, seed=0, config=LintSeqConfig())
    assert any(0 in deletion and len(deletion) > 1 for deletion in strict.deletions) or strict.deletions[0] == [0]
    lenient = sample_edit_path(program, linter, seed=0, config=LintSeqConfig(ignore_init_errors=True))
    assert all(len(deletion) == 1 for deletion in lenient.deletions if 0 in deletion)
    assert apply_diffs(lenient.diffs) == program


def test_programs_without_code_are_refused():
    for text in ["", "\n\n", "# just a comment\n# and another"]:
        with pytest.raises(NoCodeError):
            sample_edit_path(text, PylintLinter(), seed=0)


def test_exact_replay_keeps_unusual_characters():
    program = "def f():\n    return 'a\x0cb'  # form feed inside\n\n\x0c\nx = f()\t\nprint(x)"
    path = sample_edit_path(program, PylintLinter(), seed=3)
    assert apply_diffs(path.diffs) == program


def test_core_imports_no_heavy_library():
    code = (
        "import sys, hub_tools.lintseq\n"
        "heavy = [m for m in ('torch', 'datasets', 'transformers', 'pylint', 'astroid', 'pyarrow') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


class RecordingLinter:
    """A real pylint linter that records every text it is asked to lint."""

    def __init__(self):
        self.linter = PylintLinter(timeout=None)  # a loaded test machine must not turn a call into an error
        self.texts = []

    def lint(self, program):
        self.texts.append(program)
        return self.linter.lint(program)


class _Forgetful(dict):
    """A memo that answers once and forgets: every state is linted again."""

    def __getitem__(self, key):
        return self.pop(key)


def test_a_state_is_linted_once_per_program(humaneval_corpus, stdlib_corpus, monkeypatch):
    # A search with several children per round meets the same states again; the answer is reused.
    from hub_tools.lintseq import sampling

    config = LintSeqConfig(children_per_round=3, top_k=2, max_population_size=4, ignore_init_errors=True)
    programs = humaneval_corpus[:3] + stdlib_corpus[:3]
    reused = []
    for index, program in enumerate(programs):
        recording = RecordingLinter()
        paths = sample_edit_paths(program, recording, seed=index, config=config)
        assert len(recording.texts) == len(set(recording.texts)) == paths[0].lint_calls
        reused.append((program, paths))
    original_init = sampling._InducedDeletion.__init__

    def forgetful_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._known = _Forgetful()

    monkeypatch.setattr(sampling._InducedDeletion, "__init__", forgetful_init)
    saved = 0
    for index, (program, paths) in enumerate(reused):
        recording = RecordingLinter()
        again = sample_edit_paths(program, recording, seed=index, config=config)
        # Same paths as a linter asked every time: what the reuse returns is what a call would have.
        assert [path.deletions for path in again] == [path.deletions for path in paths]
        saved += again[0].lint_calls - paths[0].lint_calls
    assert saved > 0


# Expected output of a pretty-printer, as sympy's tests hold it: string lines ending in ``\``, so the
# closing line ``"""`` of one string and the opening line ``x = """\`` of the next both end in a backslash.
PRETTY_PRINTER_TEST = '''def test_pretty_vectors():
    expected_b = """\\
⎛   2   ⌠        ⎞    \\n\\
⎝       ⌡        ⎠    \\
"""

    expected_e = """\\
⎛  5  ⎞ k_C\\n\\
⎝10 ⎠    \\
"""

    assert render("b") == expected_b
    assert render("e") == expected_e


def render(name):
    return name
'''


def test_a_state_is_linted_as_it_is_emitted_without_its_blank_ends():
    # A kept line that ends in a backslash, followed by a kept blank line, continues onto it: valid. The
    # path holds states without blank ends, where that line ends the file: a syntax error. Found by
    # benchmarks/lint_clean_audit.py on a sympy test file; before, half of these seeds emitted such a state.
    compile(PRETTY_PRINTER_TEST, "<program>", "exec")
    sampling_linter, checking_linter = PylintLinter(), PylintLinter()
    for seed in range(12):
        path = sample_edit_path(PRETTY_PRINTER_TEST, sampling_linter, seed=seed)
        for state in path.states[1:-1]:
            assert checking_linter.lint(state) == [], (seed, state)
            compile(state, "<state>", "exec")


@pytest.mark.parametrize("blank", ["\u00a0", "\u3000", "\u2028", "\x85", "\x0b", "\x1c"])
def test_a_file_python_refuses_for_its_last_blank_looking_line_is_refused(blank, tmp_path):
    """A last line of white space that is not Python's (no-break space...) makes a file Python refuses; it was
    trimmed like a blank line, and the file got a path ending in another program. Form feeds and tabs are
    Python's blanks and are still trimmed."""
    from hub_tools.cli import main
    from hub_tools.linters.syntax_errors import compile_failure

    program = f"x = 1\nprint(x)\n{blank}\n"
    assert compile_failure(program) is not None
    assert compile_failure(normalize_program(program)) is not None
    assert normalize_program("x = 1\n\f\n \t\n") == "x = 1"
    source = tmp_path / "program.py"
    source.write_text(program, encoding="utf-8")
    assert main(["edits", str(source), "--json"]) == 2
