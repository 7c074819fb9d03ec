"""Helpers shared by the scale-out tests: run ``lintseq generate`` as a user would, compare folders."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def environment() -> dict:
    """This process's environment, with the sources under test first on the import path."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}


def generate(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "hub_tools.cli", "generate", *args, "--no-progress"]
    kwargs.setdefault("env", environment())
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def shard_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted((folder / "data").rglob("*.parquet"))}


def settings(folder: Path) -> dict:
    """lintseq_config.json without what depends on the clock and on the engine."""
    manifest = json.loads((folder / "lintseq_config.json").read_text())
    for config in manifest["configs"].values():
        for key in ("seconds", "worker_seconds", "resumed_parts", "workers", "executor", "tasks"):
            config["stats"].pop(key, None)
    return manifest


def parts(folder: Path, config: str = "lintseq") -> list[Path]:
    """The finished parts of an unfinished run."""
    return sorted((folder / ".lintseq-work" / config).glob("part-*.json"))
