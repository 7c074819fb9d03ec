"""The generation journal of ``lintseq eval``: every completion appended to ``generations.jsonl`` as soon as
it exists, so that ``--resume`` continues an interrupted evaluation from what was already sampled.

The first line records the settings that decide what a sample is (model, its revision, dtype and weight
files, server, data set and split, temperature, top-p, token limit, seed, format); a resumed run must use
the same ones. Each following line is one sample: ``task_id``, ``sample_index``, ``prompt``,
``completion``; a resumed run refuses a sample whose prompt is not the one its problem has now (the data
changed under the same name). A line cut short by a kill is ignored (and sampled again).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from hub_tools.errors import UserError
from hub_tools.evaluation.scoring import json_line

JOURNAL_FILE = "generations.jsonl"


class GenerationJournal:
    """Append-only record of the samples of one evaluation.

    Args:
        path: the journal file.
        settings: what decides a sample (compared on resume).
        resume: keep the samples already in ``path`` (they must have the same settings); otherwise the file
            starts afresh.
        prompts: the prompt of each problem of this run, by ``task_id``; on resume, a stored sample of one of
            these problems must have been sampled from the same prompt.
    """

    def __init__(self, path: Path, settings: dict, *, resume: bool, prompts: dict[str, str] | None = None):
        self.path = Path(path)
        self.settings = settings
        self.prompts = prompts or {}
        self.rows: dict[tuple[str, int], dict] = {}
        if resume and self.path.is_file():
            self._read()
        elif self.path.is_file() and self.path.stat().st_size:
            # Kept, not deleted: a forgotten --resume cost hours of samples; nor is an earlier kept one replaced.
            kept = self.path.with_name(self.path.name + ".previous")
            number = 1
            while kept.exists():
                number += 1
                kept = self.path.with_name(f"{self.path.name}.previous-{number}")
            print(f"note: starting afresh; the samples of an earlier run in {self.path} are moved to {kept.name} "
                  "(--resume continues them)", file=sys.stderr)
            self.path.replace(kept)
        elif resume:
            print(f"note: --resume: no {self.path} yet, starting from the beginning", file=sys.stderr)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.is_file()
        # Line-buffered: every sample reaches the file as soon as it is written (a kill loses none).
        self.handle = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (closed in close())
        if fresh:
            self.handle.write(json.dumps({"settings": settings}) + "\n")

    def _read(self) -> None:
        # Split as bytes: a kill can cut the last line inside a character (samples are written as UTF-8).
        lines = self.path.read_bytes().split(b"\n")
        try:
            header = json.loads(lines[0])["settings"]
        except (ValueError, KeyError, TypeError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise UserError(f"{self.path}:1: not a generation journal of lintseq eval (no settings line)") from None
        changed = [name for name in self.settings if header.get(name) != self.settings[name]]
        if changed:
            name = changed[0]
            if name not in header:  # a journal of an older lintseq eval, which did not record it
                raise UserError(f"--resume: {self.path} does not record the {name} it was sampled with, so it "
                                "cannot be checked against this run; drop --resume or use another --output-dir")
            raise UserError(f"--resume: {self.path} was sampled with {name} = {header.get(name)!r}, not "
                            f"{self.settings[name]!r}; use the same settings or another --output-dir")
        complete = lines[:-1]  # the text after the last newline is empty, or a line cut by a kill
        for number, line in enumerate(complete[1:], start=2):
            try:
                row = json.loads(line)
                key = (row["task_id"], int(row["sample_index"]))
                stored = row["prompt"]
                if not isinstance(key[0], str):  # a list or an object cannot key a sample
                    raise TypeError("task_id is not text")
            except (ValueError, KeyError, TypeError, RecursionError):
                print(f"note: {self.path}:{number}: unreadable sample skipped (sampled again)", file=sys.stderr)
                continue
            if key[0] in self.prompts and stored != self.prompts[key[0]]:
                raise UserError(f"--resume: {self.path}:{number}: the sample of {key[0]} was sampled from another "
                                f"prompt than {key[0]} has now (its data changed); drop --resume or use another "
                                "--output-dir")
            self.rows[key] = row
        if lines[-1]:
            # A torn last line: cut it off, so that the next sample starts on a line of its own.
            with open(self.path, "r+b") as handle:
                handle.truncate(len(b"\n".join(complete)) + 1)
        print(f"resuming: {len(self.rows)} sample(s) already in {self.path}", file=sys.stderr)

    def add(self, row: dict) -> None:
        self.rows[(row["task_id"], row["sample_index"])] = row
        self.handle.write(json_line(row))

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
