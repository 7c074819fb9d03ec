"""``lintseq_config.json``: every generation parameter, tool versions and statistics, per config.

A later run with another sampler into the same folder adds its config and keeps the others; the card
(README.md) is rendered again from this file after every run. A run never silently replaces a finished
config made with other settings (:func:`check_finished_run`).
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from hub_tools import __version__
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source
from hub_tools.datagen.writer import (
    FORMAT_VERSION,
    SOURCE_FILES,
    WORK_FOLDER,
    read_config_file,
    write_json_atomically,
)
from hub_tools.errors import UNREADABLE_JSON

# Which sampler config `load_dataset(folder)` returns when several exist.
DEFAULT_PREFERENCE = ("lintseq", "random", "baseline")
# The rules a config's rows were made under, recorded with it; ``lintseq verify`` names what an older
# config missed, and a run is never resumed under other rules. 2: pylint pragmas ignored, a lint time-out
# never clean, CRLF/bare/~~~/indented fences. 3: relative imports not counted by the portable profile.
# 4: benchmark code copied under other names found. 5: and without its type hints, numbers by value.
# 6: coding declarations set to utf-8, <|diff|> rows skipped, wider overlap check, stdlib-only portable.
# 7: declaration-shaped comments deeper in the file set to utf-8 too. 8: left as written again, and a state
# that would misread as a file flagged instead; E0011 counted; the stdlib's test package visible; 988 levels.
# 10: --ignore-init-errors tolerates a program's own errors by message text too, not by id alone; the
# benchmark-overlap check compares the code of the instruction and response under other names too, and reads
# lines opened by a marker (diff, quote, session, numbering) without it. 11: pragmas after a skip-file are read
# (a malformed one is E0011 again, as for a pylint obeying no pragma); a task statement after an import in the
# benchmark's function is compared; code in a program's strings compared under other names; a file of renamed
# solutions counts for each.
DATA_RULES = 11
DATA_RULES_CHANGES = {
    2: "pylint pragmas in a program were honoured, a lint time-out could pass as clean, and CRLF, bare, "
       "~~~ and indented markdown fences were not extracted (such rows were skipped as syntax errors)",
    3: "the portable profile counted relative imports (`from .utils import f`) as errors, so a package's "
       "module lost them, and every line using them, in one edit",
    4: "a program copying a benchmark problem's code under other names (function, arguments and variables "
       "renamed, docstring dropped) was not found to overlap it",
    5: "a program copying a benchmark problem's code under other names was not found to overlap it when its "
       "type hints were also taken away or spelled otherwise (`list[int]` for `List[int]`), or a number was "
       "spelled otherwise (`1.` for `1.0`)",
    6: "a program kept a coding declaration under which its UTF-8 reads as other characters (as a file, its "
       "states were other programs), rows holding <|diff|> were kept (their completion does not read back), "
       "the response, comments and copies with invisible or fullwidth characters were not compared with the "
       "benchmarks, and the portable profile could see modules other than the standard library's under "
       "standard-library names (setuptools' distutils, PYTHONPATH)",
    7: "a comment deeper in the program shaped like a coding declaration (`# vim: set fileencoding=...`, and "
       "any comment Python would read as one, such as `# the encoding: default`) was kept as written, and it is "
       "the first line of the states made before the lines above it arrive: written as files, those states were "
       "other characters or did not compile",
    8: "prose comments shaped like a coding declaration deeper in the program were rewritten (`# Gap encoding: "
       "the gap` lost a word to utf-8), while a string line quoting a declaration could still be the first line "
       "of a state that does not compile as a file; a malformed pragma (`# pylint: disabl=...`, E0011 on the "
       "command line) was not counted; under the portable profile the standard library's `test` package was "
       "invisible though a command line resolves it; and a program one level short of pylint's recursion limit "
       "passed here and crashed `python -m pylint`; benchmark copies behind invisible characters, combining "
       "marks, Greek or Cyrillic look-alikes, escapes, or builtin names used as their own were not found",
    9: "a program whose last line was white space Python refuses (U+00A0, U+3000, U+2028) was trimmed and got a "
       "path ending in another program, and a malformed pragma after one that skips the file was counted as "
       "E0011, which the pylint command line does not report",
    10: "with --ignore-init-errors, an error of a state was tolerated when the program had one of the same id on "
        "the same line: a deletion that took `SIZE = 3` left `Undefined variable 'SIZE'` next to the program's "
        "own `Undefined variable 'SQUARE'` (from a star import), and the state was kept; and a renamed benchmark "
        "copy in a row's instruction or response, or one pasted with a marker opening each line (+, > , >>> , a "
        "line number), passed the overlap check",
    11: "a malformed pragma after one that skips the file (`# pylint: skip-file`, then `# pylint: disabl=...`) "
        "was not counted, where a pylint obeying no pragma reports E0011, and a benchmark problem's task "
        "statement written after an import in its function (HumanEval/115's) was not compared with the rows; a "
        "renamed copy the program held as text (in a string, an exec'd string, a notebook's JSON as the whole "
        "program) was not found, and a file of renamed solutions counted for one problem only",
}
# The changes after which rows made under the older rules may fail today's checks: ``lintseq verify`` fails
# a config made before one of them. After the others its rows still pass, and verify only notes the change.
FAILING_CHANGES = frozenset({2})
# The key of a config's ``source`` entry that holds each local source file's size and modification time (ns)
# as the run that made it began, by the file's name as given: a later run into the folder compares them
# (check_finished_run), as a resume compares run.json's. Only for that: verify compares the rows themselves.
STAMPS = "files"
# Settings that decide which programs the baseline config holds.
BASELINE_SETTINGS = ("source", "num_samples", "seed", "prompt_field", "code_field", "keep_fields")
# And the settings that drop source rows before any config gets them: recorded with the baseline too (a run
# with other benchmark settings rewrote a decontaminated baseline with the rows it had dropped, and its card
# went on saying they were gone). Older folders' baselines lack them and are compared without them.
ROW_FILTER_SETTINGS = ("decontamination", "dedup", "drop_duplicates", "max_lines", "max_line_length")


def baseline_settings(entry: dict) -> tuple[str, ...]:
    """The settings a baseline config ``entry`` of ``lintseq_config.json`` is compared on."""
    return BASELINE_SETTINGS + tuple(key for key in ROW_FILTER_SETTINGS if key in entry)


def _versions() -> dict[str, str]:
    import importlib.metadata

    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for package in ("pylint", "astroid", "datasets", "pyarrow", "numpy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return versions


def update_manifest(output_dir: Path, source: Source, config: GenerationConfig, num_samples: int | None,
                    sampler_stats: dict, baseline_stats: dict) -> dict:
    """Record one finished run in ``lintseq_config.json`` and render the dataset card again."""
    manifest = read_config_file(output_dir)
    settings = config.to_dict()
    source_info = {"name": source.description, "prompt_field": settings.pop("prompt_field"),
                   "code_field": settings.pop("code_field"), "split": source.split, "license": source.license}
    source_info.update({key: value for key, value in (("subset", source.subset), ("data_dir", source.data_dir),
                                                      ("revision", source.hub_commit)) if value})
    stamps = _run_stamps(output_dir, config.sampler, source)
    if stamps:  # local files only: a Hub source is pinned by its commit, the built-in corpus never changes
        source_info[STAMPS] = stamps
    manifest["format_version"] = FORMAT_VERSION
    manifest["hub_tools_version"] = __version__
    manifest["versions"] = _versions()
    configs = manifest.setdefault("configs", {})
    configs[config.sampler] = {**settings, "num_samples": num_samples, "source": source_info,
                               "data_rules": DATA_RULES, "stats": sampler_stats}
    configs["baseline"] = {"num_samples": num_samples, "seed": config.seed, "keep_fields": settings["keep_fields"],
                           **{key: settings[key] for key in ROW_FILTER_SETTINGS},
                           "source": source_info, "data_rules": DATA_RULES, "stats": baseline_stats}
    manifest["configs"] = {name: configs[name] for name in sorted(configs, key=_config_order)}
    manifest["default_config"] = next(name for name in DEFAULT_PREFERENCE if name in configs)
    write_json_atomically(manifest, output_dir / "lintseq_config.json")
    _write_card(output_dir)
    return manifest


def _run_stamps(output_dir: Path, sampler: str, source: Source) -> dict:
    """The size and modification time of each local source file as the run began (its ``run.json``, which a
    resume is checked against), or as they are now when the run left none."""
    run_file = output_dir / WORK_FOLDER / sampler / "run.json"
    with contextlib.suppress(OSError, *UNREADABLE_JSON):
        recorded = json.loads(run_file.read_text(encoding="utf-8"))
        if isinstance(recorded, dict) and isinstance(recorded.get(SOURCE_FILES), dict):
            return recorded[SOURCE_FILES]
    return source.file_stamps()


def recorded_commit(output_dir: Path, source: Source) -> str | None:
    """The commit of ``source`` (a Hub dataset) the folder's baseline config was made from, if it records one."""
    entry = (read_config_file(output_dir).get("configs") or {}).get("baseline")
    recorded = entry.get("source") if isinstance(entry, dict) else None
    if isinstance(recorded, dict) and recorded.get("name") == source.description:
        revision = recorded.get("revision")
        return revision if isinstance(revision, str) and revision else None
    return None


def recorded_fingerprint(entry: dict) -> dict:
    """The settings a finished config records, in the shape of :meth:`Engine.fingerprint`.

    A setting an older version did not record has the value that version used: the default.
    """
    source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
    values = {key: entry.get(key, default) for key, default in GenerationConfig().to_dict().items()}
    values.update(prompt_field=source.get("prompt_field"), code_field=source.get("code_field"))
    return {"source": source.get("name"), "num_samples": entry.get("num_samples"), **values,
            "data_rules": entry.get("data_rules", 1)}


def check_finished_run(output_dir: Path, fingerprint: dict, overwrite: bool) -> bool:
    """Compare a run with the finished configs it would replace; True when it is already done.

    The run's sampler config, and the baseline config every run rewrites, must have been made with the
    same settings (for the baseline: the same source rows), and from the local source files as they are
    now (same size and modification time); otherwise this raises a one-line :class:`UserError` naming the
    differing settings or the changed file, unless ``overwrite``.
    """
    from hub_tools.errors import UserError

    # How the rows were cut into parts while the run went on leaves no trace in the finished folder; the source
    # files' stamps are compared on their own, below.
    stamps = fingerprint.get(SOURCE_FILES)
    fingerprint = {**{key: value for key, value in fingerprint.items() if key not in ("chunk_size", SOURCE_FILES)},
                   "data_rules": DATA_RULES}
    configs = read_config_file(output_dir).get("configs") or {}
    sampler = fingerprint["sampler"]
    differing: list[str] = []
    if isinstance(configs.get(sampler), dict):
        differing = _differences(recorded_fingerprint(configs[sampler]), fingerprint)
    elif isinstance(configs.get("baseline"), dict):
        recorded = recorded_fingerprint(configs["baseline"])
        differing = [f"baseline {key}" for key in baseline_settings(configs["baseline"])
                     if recorded[key] != fingerprint[key]]
    if differing and not overwrite:
        raise UserError(
            f"{output_dir} holds a finished dataset made with other settings ({', '.join(differing)} differ); "
            "pass --overwrite to replace it, or choose another --output-dir"
        )
    if not overwrite and isinstance(stamps, dict):
        _refuse_changed_source(output_dir, configs, sampler, stamps)
    finished = all((output_dir / "data" / name).is_dir() for name in (sampler, "baseline"))
    return finished and sampler in configs and not differing


def _refuse_changed_source(output_dir: Path, configs: dict, sampler: str, stamps: dict) -> None:
    """Refuse a run whose local source files are not those the run's config, or the baseline it would rewrite,
    was made from: a new sampler config next to configs of the old rows, or a rerun found "done" though its rows
    are the old ones (a source edited between a run and a run with ``--sampler random`` left the folder's
    ``lintseq`` config of the old rows beside a baseline of the new ones). Configs made before the stamps were
    recorded are not compared."""
    from hub_tools.errors import UserError

    for name in dict.fromkeys((sampler, "baseline")):
        entry = configs.get(name)
        source = entry.get("source") if isinstance(entry, dict) else None
        recorded = source.get(STAMPS) if isinstance(source, dict) else None
        if not isinstance(recorded, dict) or recorded == stamps:
            continue
        changed = next(file for file in [*stamps, *recorded] if recorded.get(file) != stamps.get(file))
        what = ("is new" if changed not in recorded else "is gone" if changed not in stamps
                else "changed (size or modification time)")
        raise UserError(f"{output_dir}: source file {changed} {what} since the folder's {name} config was made; "
                        f"pass --overwrite to make the {sampler} and baseline configs again from the source as it is "
                        "now (any other config keeps the old rows), or choose another --output-dir")


def _differences(recorded: dict, wanted: dict, prefix: str = "") -> list[str]:
    names = []
    for key, value in wanted.items():
        if isinstance(value, dict) and isinstance(recorded.get(key), dict):
            names += _differences(recorded[key], value, f"{prefix}{key}.")
        elif recorded.get(key) != value:
            names.append("data rules (made by another version)" if key == "data_rules" else prefix + key)
    return names


def _config_order(name: str) -> tuple[int, str]:
    return (DEFAULT_PREFERENCE.index(name) if name in DEFAULT_PREFERENCE else len(DEFAULT_PREFERENCE), name)


def _write_card(output_dir: Path) -> None:
    from hub_tools.datagen.card import write_dataset_card

    write_dataset_card(output_dir)
