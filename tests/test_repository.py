"""The repository's own contracts: the README's commands, the package list, lint cleanliness."""

import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _readme_bash_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    test_command = _readme_bash_blocks()[1].strip()
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert test_command in ci_lines, f"{test_command!r} is not in .ci/run"


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "hub_tools").rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to pyproject.toml: {sorted(on_disk - listed)}"
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        assert (ROOT / folder).is_dir(), f"{package} maps to a missing folder {folder}"


def test_cli_lists_every_command_and_each_module_exists():
    from hub_tools.cli import COMMANDS

    for name, (module, _) in COMMANDS.items():
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), f"command {name}: no module {module}"
    result = subprocess.run([sys.executable, "-m", "hub_tools.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wheel_ships_cards_and_recipes(tmp_path):
    # Build from a copy of the sources: a stale build/ folder in the checkout must not decide the result.
    import shutil
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".env", "results", "lintseq-humaneval", "outputs"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source),
         "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("dataset_cards", "model_cards", "recipes"):
        shipped = sorted(n.removeprefix(f"hub_tools/{folder}/") for n in names if n.startswith(f"hub_tools/{folder}/"))
        on_disk = sorted(str(p.relative_to(ROOT / folder)) for p in (ROOT / folder).rglob("*")
                         if p.is_file() and p.suffix in (".md", ".yaml", ".json"))
        assert shipped == on_disk, folder
