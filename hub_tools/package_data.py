"""Where the files shipped beside the code live: card templates and training recipes.

In a wheel they are inside the package (``hub_tools/dataset_cards`` …, see ``[tool.setuptools.package-dir]``
in pyproject.toml); in a source checkout or an editable install they are at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
SHIPPED_FOLDERS = ("dataset_cards", "model_cards", "recipes")


def shipped_folder(name: str) -> Path:
    """Return the folder of shipped files called ``name`` (one of ``SHIPPED_FOLDERS``).

    >>> shipped_folder("dataset_cards").name
    'dataset_cards'
    """
    if name not in SHIPPED_FOLDERS:
        raise ValueError(f"unknown shipped folder {name!r}; expected one of {SHIPPED_FOLDERS}")
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ is missing from this installation of hub_tools ({_PACKAGE})")
