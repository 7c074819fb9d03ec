"""One place where every benchmark writes what it measured: ``benchmarks/results/<name>.json``.

A figure quoted in the README must come from one of these files, so each records how it was made: the
command line, the machine (CPU count and model, memory), the versions of Python and of the packages
involved, the date, and the figures themselves. The files are committed; re-running a benchmark replaces
its file.

    from results import save_result
    save_result("lintseq_core", {"functions": {"ratio": 21.3}}, packages=["pylint", "astroid"])
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict:
    """What the figures were measured on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cores": cores, "cpu": _cpu_model(), "memory_gib": _memory_gib(), "platform": platform.platform(),
            "python": platform.python_version()}


def versions(packages: list[str]) -> dict[str, str | None]:
    """Installed versions of ``packages`` (``None`` for a package that is not installed)."""
    found = {}
    for name in ["hub-tools", *packages]:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def save_result(name: str, figures: dict, *, packages: list[str] = (), command: list[str] | None = None,
                folder: Path = RESULTS) -> Path:
    """Write ``folder/<name>.json`` with the figures and how they were made; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "command": " ".join(command if command is not None else ["python", *sys.argv]),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": machine(),
        "versions": versions(list(packages)),
        "figures": figures,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n")
    return path
