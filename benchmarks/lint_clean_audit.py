"""Does the lint-clean guarantee hold on messy real-world code? Every state checked by a fresh pylint process.

    .venv/bin/python benchmarks/lint_clean_audit.py [--files 160] [--seed 11] [--profile portable]
                                                    [--workers 2] [--num-paths 2] [--name STEM]
                                                    [--min-lines 10] [--max-lines 250] [--time-limit 60]
                                                    [--own-errors]

Source rows are ``--files`` Python files drawn at random (``--seed``) from the packages installed in this
environment (10-250 lines by default; ``--min-lines 250 --max-lines 1500`` audits whole files, with a
``--time-limit`` long enough to keep them; valid Python: code nobody here wrote, with the pragmas, docstrings and
encodings real files have), each wrapped one of eight ways in turn, as scraped corpora and chat answers
hold them: Windows line endings, ``# pylint: skip-file`` and ``disable=all`` pragmas on top, inside a
markdown answer, a leading byte-order mark, tabs for indentation, a trailing form feed, a ``coding``
cookie, and a trailing backslash (a broken program, which must be skipped). With ``--own-errors`` each
program also carries one to three errors of the kinds scraped code has (:data:`OWN_ERRORS`: a helper called
but never defined, a module used without its import, a block indented by three spaces, a call with the
wrong number of arguments, a subclass ``__init__`` that skips its base's, a function defined twice, a
missing method called): the first edit of each path writes them with the lines they broke, and every
state before it must still be clean. ``lintseq generate`` turns
them into edit paths (``--num-paths`` per program, ``--workers`` processes); then every state of every
path is rebuilt from the diffs alone and checked by ``pylint`` on the command line, with the profile's
messages and no pragma handling switched off: what a user auditing the dataset would run. Each file is
checked alone, as ``pylint FILE`` checks it, in a process forked from one that imported pylint and built
nothing (``pylint_each_file.py``). One pylint process checking many files is no check of each: astroid keeps
what it built for one file for the next, so a state can be flagged only because of the files before it (two
earlier states of one program made E1102 appear), or pass because of them (once a file importing ``code``
is checked, ``sys.ps1`` is defined for every later file). Audits before that change (their results have
``flagged_in_a_batch_only``) checked files 400 to a process and each flagged one again alone: they missed
the second kind.
Under ``portable`` that command line runs in an environment holding pylint alone (``benchmarks/.pylint-only``,
made on first use), as the profile lets inference see the standard library only; under ``reference`` it
runs here, with every installed package visible, as the profile does. That environment still holds pylint's
own dependencies (astroid, dill, isort...) and what every virtual environment holds (pip, with the libraries
it vendors, such as ``pip._vendor.pygments``; setuptools), which portable does not see: the flagged states
of a program importing them are counted apart.

The guarantee is about the intermediate states. The last state of a path is the source program itself,
whose own messages (a file indented with tabs has W0311 on every indented line) are reported apart, with
the mean edits per path of each wrapping. A file pylint must flag goes with every batch of files, and the
audit stops when its message does not come back: a check that reads nothing would report nothing flagged.

Reported: rows written and skipped (by reason), intermediate states checked, those the command line flags
(the guarantee says none), source programs with messages of their own, and paths whose last state is not
the row's program (none). Figures go to ``benchmarks/results/lint_clean_audit.json``
(``lint_clean_audit_<profile>.json`` for another profile, ``<STEM>.json`` with ``--name``).
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_env import environment_python
from results import save_result

ROOT = Path(__file__).resolve().parents[1]
EACH_FILE = Path(__file__).resolve().with_name("pylint_each_file.py")
sys.path.insert(0, str(ROOT))

WRAPPINGS = (
    ("crlf", lambda text: text.replace("\n", "\r\n")),
    ("pragmas", lambda text: "# pylint: skip-file\n# pylint: disable=all\n" + text),
    ("markdown", lambda text: "Here is the module:\n\n````python\n" + text + "\n````\nThat's it."),
    ("byte-order mark", lambda text: "\ufeff" + text),
    ("tabs", lambda text: "\n".join(_tabs(line) for line in text.split("\n"))),
    ("form feed", lambda text: text + "\n\x0c\n# end\n"),
    ("coding cookie", lambda text: "# -*- coding: latin-1 -*-\n" + text),
    ("trailing backslash", lambda text: text.rstrip() + "  \\\n"),
)


# Errors scraped programs carry, each planted the way it appears in real files. Each takes the program's lines and
# a random generator and returns the new lines. Names that pylint's dummy-variable pattern matches (a leading
# underscore and more) are not E0102 when defined twice: the twice-defined function has a plain name.
def _undefined_helper(lines: list[str], rng: random.Random) -> list[str]:
    defs = [index for index, line in enumerate(lines) if line.lstrip().startswith("def ") and line.rstrip().endswith(":")]
    if not defs:
        return [*lines, f"RESULT_{rng.randrange(10**6)} = load_settings_{rng.randrange(10**6)}()"]
    where = rng.choice(defs)
    indent = len(lines[where]) - len(lines[where].lstrip()) + 4
    return [*lines[: where + 1], " " * indent + f"_probe = missing_helper_{rng.randrange(10**6)}(1)", *lines[where + 1:]]


OWN_ERRORS = (
    ("undefined helper", _undefined_helper),
    ("module without its import", lambda lines, rng: [*lines, f"OUT_{rng.randrange(10**6)} = os.path.join('a', 'b') + json.dumps(1)"]),
    ("three-space block", lambda lines, rng: [*lines, "if __name__ == '__main__':", "   VALUE = 3", "   print(VALUE)"]),
    ("wrong arguments", lambda lines, rng: [*lines, "def _pair(a, b):", "    return a + b", "", "_pair(1, 2, 3)", "_pair()"]),
    ("init not called", lambda lines, rng: [*lines, "class _Base:", "    def __init__(self):", "        self.x = 1", "",
                                            "class _Child(_Base):", "    def __init__(self):", "        self.y = 2"]),
    ("defined twice", lambda lines, rng: [*lines, "def twice():", "    return 1", "", "def twice():", "    return 2"]),
    ("missing method", lambda lines, rng: [*lines, "class _Thing:", "    def go(self):", "        return 1", "",
                                           "_Thing().missing_call()"]),
)


def with_own_errors(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """``text`` with one to three of :data:`OWN_ERRORS` planted, and their names."""
    lines, kinds = text.split("\n"), []
    for name, plant in rng.sample(OWN_ERRORS, rng.randint(1, 3)):
        lines = plant(lines, rng)
        kinds.append(name)
    return "\n".join(lines), kinds


def _tabs(line: str) -> str:
    stripped = line.lstrip(" ")
    return "\t" * ((len(line) - len(stripped)) // 4) + " " * ((len(line) - len(stripped)) % 4) + stripped


def installed_files(count: int, seed: int, min_lines: int = 10, max_lines: int = 250,
                    containing: str | None = None) -> list[Path]:
    """``count`` files of the installed packages, drawn with ``seed``, of ``min_lines`` to ``max_lines``
    lines, and matching the regular expression ``containing`` (multi-line) when it is given."""
    pattern = re.compile(containing, re.MULTILINE) if containing else None
    site = Path(sysconfig.get_paths()["purelib"])
    files = sorted(site.rglob("*.py"))
    random.Random(seed).shuffle(files)
    chosen = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            ast.parse(text)
        except (UnicodeDecodeError, SyntaxError, ValueError, OSError):
            continue
        if min_lines <= len(text.splitlines()) <= max_lines and "\t" not in text and (
                pattern is None or pattern.search(text)):
            chosen.append(path)
        if len(chosen) == count:
            break
    return chosen


PYLINT_ONLY_ENV = Path(__file__).resolve().parent / ".pylint-only"


def environment_packages(python: Path) -> frozenset[str]:
    """Top-level modules installed in the environment of ``python``, besides the standard library: for the
    pylint-only environment, pylint's own dependencies (astroid, dill, isort...) and what every virtual
    environment holds (pip, setuptools, pkg_resources), with pip's vendored libraries under it."""
    listing = subprocess.run([str(python), "-c", "import pkgutil, sysconfig; paths = sysconfig.get_paths(); "
                              "print(sorted({m.name for m in pkgutil.iter_modules([paths['purelib'], paths['platlib']])}))"],
                             capture_output=True, text=True, check=True).stdout
    return frozenset(ast.literal_eval(listing))


def imports_any_of(program: str, packages: frozenset[str]) -> bool:
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return False
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return any(name.split(".")[0] in packages for name in names)


def pylint_only_python() -> Path:
    """The interpreter of an environment (``benchmarks/.pylint-only``, git-ignored) holding this environment's
    pylint and astroid versions and nothing else: its command line sees the standard library, pylint's own
    few dependencies (astroid, dill, isort, mccabe, platformdirs, tomlkit) and no other package."""
    from importlib import metadata

    return environment_python(PYLINT_ONLY_ENV, [f"pylint=={metadata.version('pylint')}",
                                                f"astroid=={metadata.version('astroid')}"])


def command_line_flags(files: list[Path], profile_name: str, jobs: int = 2) -> list[str]:
    """The counted messages ``pylint FILE`` reports on each of ``files`` alone, as ``path:line: id message``
    (``jobs`` files at a time), with the files' own pragmas read but not obeyed, as the linter does: a state
    holding a scraped file's ``# pylint: skip-file`` is checked too (the audits recorded before ``own_errors`` and
    ``seed2032`` obeyed them: the states of the ``pragmas`` wrapping, an eighth of all, were skipped by pylint,
    not checked).

    A file known to be flagged goes with every batch, and its message must come back: a check that reads
    nothing of pylint's output (pylint writes a path relative to its working folder when the file lies
    under it) would otherwise report that nothing is flagged.
    """
    from hub_tools.linters import get_profile

    profile = get_profile(profile_name)
    options = ["--rcfile=/dev/null", "--disable=all", "--enable=" + ",".join(profile.counted)]
    if profile.not_counted:
        options.append("--disable=" + ",".join(profile.not_counted))
    # What the profile promises about imports, set up for pylint its own way: for ``portable`` (only the
    # standard library visible to inference) the command line runs in an environment holding pylint alone.
    python = sys.executable if profile.third_party_imports else pylint_only_python()
    canary = Path(tempfile.mkdtemp(prefix="audit-canary-")) / "canary.py"
    # Its pragma must be read and not obeyed, or the canary's message does not come back either.
    canary.write_text("# pylint: skip-file\nprint(name_defined_nowhere)\n", encoding="utf-8")
    flagged = []
    for start in range(0, len(files), 400):
        batch = [str(path.resolve()) for path in files[start:start + 400]]
        result = subprocess.run([str(python), str(EACH_FILE), "--jobs", str(jobs), "--obey-no-pragma", *options,
                                 *profile.pylint_options,
                                 "--score=n", "--reports=n", "--msg-template={abspath}:{line}: {msg_id} {msg}", "--",
                                 str(canary.resolve()), *batch],
                                capture_output=True, text=True, cwd=tempfile.gettempdir())
        lines = result.stdout.splitlines()
        if result.returncode != 0 or not any(line.startswith(f"{canary.resolve()}:2: E0602") for line in lines):
            raise SystemExit(f"pylint's output was not read, or it obeyed a pragma (no E0602 for the canary file), "
                             f"or pylint failed:\n"
                             f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        flagged += [line for line in lines if line.split(":")[0] in batch]
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=160)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", default="portable")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--num-paths", type=int, default=2)
    parser.add_argument("--min-lines", type=int, default=10, help="shortest file drawn")
    parser.add_argument("--max-lines", type=int, default=250, help="longest file drawn")
    parser.add_argument("--time-limit", type=float, default=60.0, help="lintseq generate's --time-limit")
    parser.add_argument("--own-errors", action="store_true", help="plant errors scraped code has in every program")
    parser.add_argument("--containing", metavar="REGEX",
                        help="draw only files matching this regular expression (multi-line), e.g. classes over "
                        "abstract bases: '^class \\w+\\([^)]*\\b(ABC|RawIOBase|Mapping|Protocol|Enum)\\b'")
    parser.add_argument("--name", help="results file stem (default: lint_clean_audit, or lint_clean_audit_<profile>)")
    args = parser.parse_args()
    import pyarrow.parquet as pq

    from hub_tools.lintseq.diffs import apply_diff

    work = Path(tempfile.mkdtemp(prefix="lint-clean-audit-"))
    files = installed_files(args.files, args.seed, args.min_lines, args.max_lines, args.containing)
    source = work / "source.jsonl"
    planted: Counter = Counter()
    with source.open("w", encoding="utf-8") as handle:
        for index, path in enumerate(files):
            name, wrap = WRAPPINGS[index % len(WRAPPINGS)]
            text = path.read_text(encoding="utf-8")
            if args.own_errors:
                text, kinds = with_own_errors(text, random.Random(args.seed * 1_000_003 + index))
                planted.update(kinds)
            text = wrap(text)
            handle.write(json.dumps({"instruction": f"Write {path.name} ({name}, #{index})", "response": text}) + "\n")
    output = work / "out"
    subprocess.run([sys.executable, "-m", "hub_tools.cli", "generate", str(source), "--output-dir", str(output),
                    "--no-progress", "--profile", args.profile, "--workers", str(args.workers),
                    "--num-paths", str(args.num_paths), "--time-limit", str(args.time_limit)], check=True, capture_output=True, cwd=work)
    settings = json.loads((output / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    skipped_by_wrapping = Counter()
    for skip in settings.get("skipped_rows", []):
        index = int(skip["location"].rsplit(":", 1)[1]) - 1
        skipped_by_wrapping[f"{WRAPPINGS[index % len(WRAPPINGS)][0]}: {skip['reason']}"] += 1

    # Every state of every path, rebuilt from the diffs alone. The guarantee is about the intermediate
    # states; the last state is the source program itself, whose own errors are reported apart.
    states_folder = work / "states"
    states_folder.mkdir()
    intermediate, state_rows, programs, texts, wrong_ends, paths = [], {}, {}, {}, 0, 0
    edits_by_wrapping: dict[str, list[int]] = {}
    for shard in sorted((output / "data" / "lintseq").glob("*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            paths += 1
            wrapping = WRAPPINGS[row["row_index"] % len(WRAPPINGS)][0]
            edits_by_wrapping.setdefault(wrapping, []).append(row["num_edits"])
            lines: list[str] = []
            for step, diff in enumerate(row["edit_path"]):
                lines = apply_diff(lines, diff)
                state = states_folder / f"row{row['row_index']}_path{row['path_index']}_step{step}.py"
                if step + 1 < len(row["edit_path"]):
                    state.write_text("\n".join(lines), encoding="utf-8")
                    intermediate.append(state)
                    state_rows[str(state.resolve())] = row["row_index"]
            wrong_ends += "\n".join(lines).strip() != row["program"].strip()
            if row["row_index"] not in programs:
                programs[row["row_index"]] = states_folder / f"row{row['row_index']}_program.py"
                programs[row["row_index"]].write_text(row["program"], encoding="utf-8")
                texts[row["row_index"]] = row["program"]
    flagged = command_line_flags(intermediate + list(programs.values()), args.profile, jobs=args.workers)
    program_paths = {str(path.resolve()) for path in programs.values()}
    flagged_states = sorted({line.split(":")[0] for line in flagged} - program_paths)
    # Under portable the command line still sees what its environment holds (pylint's dependencies, pip and
    # the libraries pip vendors): a program importing them is inferred there and opaque to the profile, so
    # its states are told apart.
    seen_by_the_command_line_only = []
    if args.profile == "portable":
        visible = environment_packages(pylint_only_python())
        importing = {row_index for row_index, text in texts.items() if imports_any_of(text, visible)}
        seen_by_the_command_line_only = [path for path in flagged_states if state_rows[path] in importing]
        flagged_states = [path for path in flagged_states if path not in seen_by_the_command_line_only]
    program_messages: Counter = Counter()
    flagged_programs = set()
    for line in flagged:
        path, _, message = line.split(":", 2)
        if path in program_paths:
            flagged_programs.add(path)
            program_messages[message.split()[0]] += 1
    figures = {
        "files": len(files), "lines": [args.min_lines, args.max_lines], "time_limit": args.time_limit,
        "lines_mean": round(sum(len(path.read_text(encoding="utf-8").splitlines()) for path in files) / len(files), 1),
        "seed": args.seed, "profile": args.profile, "num_paths": args.num_paths, "containing": args.containing,
        "wrappings": [name for name, _ in WRAPPINGS],
        "own_errors_planted": dict(planted.most_common()),
        "paths": paths, "intermediate_states_checked": len(intermediate),
        "intermediate_states_flagged_by_the_command_line": len(flagged_states),
        "flagged_examples": [line for line in flagged if line.split(":")[0] in flagged_states][:20],
        "each_file_checked_alone": True,
        "flagged_where_the_program_imports_a_package_the_command_line_sees": len(seen_by_the_command_line_only),
        "paths_not_ending_in_the_program": wrong_ends,
        "programs": len(programs), "programs_with_counted_messages": len(flagged_programs),
        "messages_of_those_programs": dict(program_messages.most_common()),
        "mean_edits_by_wrapping": {name: round(sum(edits) / len(edits), 2) for name, edits in sorted(edits_by_wrapping.items())},
        "skipped": settings.get("skipped", {}), "skipped_by_wrapping": dict(sorted(skipped_by_wrapping.items())),
    }
    print(f"{len(files)} installed files, {paths} paths, {len(intermediate)} intermediate states checked by a "
          f"fresh pylint: {len(flagged_states)} flagged; paths not ending in their program: {wrong_ends}")
    if seen_by_the_command_line_only:
        print(f"  and {len(seen_by_the_command_line_only)} flagged states of programs importing a package the "
              f"command line's environment holds (pylint's dependencies, pip) and portable does not see")
    print(f"source programs with counted messages of their own (not covered by the guarantee): "
          f"{len(flagged_programs)} of {len(programs)}: {dict(program_messages.most_common())}")
    print("mean edits per path by wrapping:", figures["mean_edits_by_wrapping"])
    print("skipped:", figures["skipped"], figures["skipped_by_wrapping"])
    for line in figures["flagged_examples"]:
        print("  ", line)
    name = args.name or ("lint_clean_audit" if args.profile == "portable" else f"lint_clean_audit_{args.profile}")
    save_result(name, figures, packages=["pylint", "astroid"])


if __name__ == "__main__":
    main()
