"""Does the lint-clean guarantee hold on messy real-world code? Every state checked by a fresh pylint process.

    .venv/bin/python benchmarks/lint_clean_audit.py [--files 160] [--seed 11] [--profile portable]
                                                    [--workers 2] [--num-paths 2]

Source rows are ``--files`` Python files drawn at random (``--seed``) from the packages installed in this
environment (10-250 lines, valid Python: code nobody here wrote, with the pragmas, docstrings and
encodings real files have), each wrapped one of eight ways in turn, as scraped corpora and chat answers
hold them: Windows line endings, ``# pylint: skip-file`` and ``disable=all`` pragmas on top, inside a
markdown answer, a leading byte-order mark, tabs for indentation, a trailing form feed, a ``coding``
cookie, and a trailing backslash (a broken program, which must be skipped). ``lintseq generate`` turns
them into edit paths (``--num-paths`` per program, ``--workers`` processes); then every state of every
path is rebuilt from the diffs alone and checked by ``pylint`` on the command line, a fresh process with
the profile's messages and no pragma handling switched off: what a user auditing the dataset would run.

Reported: rows written and skipped (by reason), states checked, states the command line flags (the
guarantee says none), and paths whose last state is not the row's program (none). Figures go to
``benchmarks/results/lint_clean_audit.json`` (``lint_clean_audit_<profile>.json`` for another profile).
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import save_result

ROOT = Path(__file__).resolve().parents[1]
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


def _tabs(line: str) -> str:
    stripped = line.lstrip(" ")
    return "\t" * ((len(line) - len(stripped)) // 4) + " " * ((len(line) - len(stripped)) % 4) + stripped


def installed_files(count: int, seed: int) -> list[Path]:
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
        if 10 <= len(text.splitlines()) <= 250 and "\t" not in text:
            chosen.append(path)
        if len(chosen) == count:
            break
    return chosen


def command_line_flags(files: list[Path], profile_name: str) -> list[str]:
    from hub_tools.linters import get_profile

    profile = get_profile(profile_name)
    options = ["--rcfile=/dev/null", "--disable=all", "--enable=" + ",".join(profile.counted)]
    if profile.not_counted:
        options.append("--disable=" + ",".join(profile.not_counted))
    flagged = []
    for start in range(0, len(files), 400):
        batch = [str(path) for path in files[start:start + 400]]
        result = subprocess.run([sys.executable, "-m", "pylint", *options, *profile.pylint_options, "--score=n",
                                 "--reports=n", "--msg-template={path}:{line}: {msg_id} {msg}", *batch],
                                capture_output=True, text=True, cwd=tempfile.gettempdir())
        flagged += [line for line in result.stdout.splitlines() if line.split(":")[0] in batch]
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=160)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", default="portable")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--num-paths", type=int, default=2)
    args = parser.parse_args()
    import pyarrow.parquet as pq

    from hub_tools.lintseq.diffs import apply_diff

    work = Path(tempfile.mkdtemp(prefix="lint-clean-audit-"))
    files = installed_files(args.files, args.seed)
    source = work / "source.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for index, path in enumerate(files):
            name, wrap = WRAPPINGS[index % len(WRAPPINGS)]
            text = wrap(path.read_text(encoding="utf-8"))
            handle.write(json.dumps({"instruction": f"Write {path.name} ({name}, #{index})", "response": text}) + "\n")
    output = work / "out"
    subprocess.run([sys.executable, "-m", "hub_tools.cli", "generate", str(source), "--output-dir", str(output),
                    "--no-progress", "--profile", args.profile, "--workers", str(args.workers),
                    "--num-paths", str(args.num_paths)], check=True, capture_output=True, cwd=work)
    settings = json.loads((output / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    skipped_by_wrapping = Counter()
    for skip in settings.get("skipped_rows", []):
        index = int(skip["location"].rsplit(":", 1)[1]) - 1
        skipped_by_wrapping[f"{WRAPPINGS[index % len(WRAPPINGS)][0]}: {skip['reason']}"] += 1

    states_folder = work / "states"
    states_folder.mkdir()
    state_files, wrong_ends, paths = [], 0, 0
    for shard in sorted((output / "data" / "lintseq").glob("*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            paths += 1
            lines: list[str] = []
            for step, diff in enumerate(row["edit_path"]):
                lines = apply_diff(lines, diff)
                state_files.append(states_folder / f"row{row['row_index']}_path{row['path_index']}_step{step}.py")
                state_files[-1].write_text("\n".join(lines), encoding="utf-8")
            wrong_ends += "\n".join(lines).strip() != row["program"].strip()
    flagged = command_line_flags(state_files, args.profile)
    figures = {
        "files": len(files), "seed": args.seed, "profile": args.profile, "num_paths": args.num_paths,
        "wrappings": [name for name, _ in WRAPPINGS],
        "paths": paths, "states_checked": len(state_files), "states_flagged_by_the_command_line": len(flagged),
        "flagged_examples": flagged[:20], "paths_not_ending_in_the_program": wrong_ends,
        "skipped": settings.get("skipped", {}), "skipped_by_wrapping": dict(sorted(skipped_by_wrapping.items())),
    }
    print(f"{len(files)} installed files, {paths} paths, {len(state_files)} states checked by a fresh pylint: "
          f"{len(flagged)} flagged; paths not ending in their program: {wrong_ends}")
    print("skipped:", figures["skipped"], figures["skipped_by_wrapping"])
    for line in flagged[:20]:
        print("  ", line)
    name = "lint_clean_audit" if args.profile == "portable" else f"lint_clean_audit_{args.profile}"
    save_result(name, figures, packages=["pylint", "astroid"])


if __name__ == "__main__":
    main()
