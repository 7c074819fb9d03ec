"""``lintseq_config.json``: every generation parameter, tool versions and statistics, per config.

A later run with another sampler into the same folder adds its config and keeps the others; the card
(README.md) is rendered again from this file after every run.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from hub_tools import __version__
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source
from hub_tools.datagen.writer import FORMAT_VERSION, read_config_file, write_json_atomically

# Which sampler config `load_dataset(folder)` returns when several exist.
DEFAULT_PREFERENCE = ("lintseq", "random", "baseline")


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
    manifest["format_version"] = FORMAT_VERSION
    manifest["hub_tools_version"] = __version__
    manifest["versions"] = _versions()
    configs = manifest.setdefault("configs", {})
    configs[config.sampler] = {**settings, "num_samples": num_samples, "source": source_info, "stats": sampler_stats}
    configs["baseline"] = {"num_samples": num_samples, "seed": config.seed, "source": source_info,
                           "stats": baseline_stats}
    manifest["configs"] = {name: configs[name] for name in sorted(configs, key=_config_order)}
    manifest["default_config"] = next(name for name in DEFAULT_PREFERENCE if name in configs)
    write_json_atomically(manifest, output_dir / "lintseq_config.json")
    _write_card(output_dir)
    return manifest


def _config_order(name: str) -> tuple[int, str]:
    return (DEFAULT_PREFERENCE.index(name) if name in DEFAULT_PREFERENCE else len(DEFAULT_PREFERENCE), name)


def _write_card(output_dir: Path) -> None:
    from hub_tools.datagen.card import write_dataset_card

    write_dataset_card(output_dir)
