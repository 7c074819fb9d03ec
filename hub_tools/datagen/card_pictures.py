"""Pictures for the dataset card: histograms of edits per program, lines per edit and tokens per row.

They are drawn from the histograms ``lintseq_config.json`` records (so a card can be rendered again
without reading the rows) and written as PNG files under ``OUT/images/<config>/``, which the Hub uploads
with the folder and shows inline where the card links them. Drawing needs matplotlib (the ``cards``
extra); without it no picture is written and the card simply has none. The PNG files carry no date or
version metadata, so the same statistics give the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

IMAGES_FOLDER = "images"
# (statistics key, title, x-axis label, what is counted), in the order the card shows them.
PICTURES = (
    ("edits_per_program", "Edits per program", "edits in one edit path", "edit paths"),
    ("lines_per_edit", "Lines per edit", "lines inserted by one edit", "edits"),
    ("tokens_per_row", "Tokens per row", "prompt + completion tokens", "rows"),
)
_BAR_COLOUR = "#4C78A8"
_LIMIT_COLOUR = "#E45756"


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _draw_histogram(histogram: dict, title: str, label: str, unit: str, path: Path, *,
                    max_length: int | None = None) -> None:
    # The object-oriented API with an explicit Agg canvas: no pyplot, no global backend switch.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    width = histogram["bin_width"]
    starts = [start for start, _ in histogram["bins"]]
    counts = [count for _, count in histogram["bins"]]
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    # Fixed margins: a layout engine would draw the figure once more to measure it.
    figure.subplots_adjust(left=0.13, right=0.97, top=0.88, bottom=0.17)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # Integer values in bins of one are centred on their value; wider bins start at their lower edge.
    left = [start - 0.5 for start in starts] if width == 1 else starts
    axes.bar(left, counts, width=width * 0.9, align="edge", color=_BAR_COLOUR)
    if max_length is not None and starts and starts[-1] + width > max_length * 0.8:
        axes.axvline(max_length, color=_LIMIT_COLOUR, linestyle="--", linewidth=1.2)
        axes.text(max_length, max(counts), f" {max_length}", color=_LIMIT_COLOUR, va="top", fontsize=9)
    total = sum(counts)
    axes.set_title(f"{title} ({total:,} {unit})", fontsize=11, loc="left")
    axes.set_xlabel(label + (f" (bins of {width})" if width > 1 else ""), fontsize=9)
    axes.set_ylabel("count", fontsize=9)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    temporary = path.with_name(path.name + ".tmp")
    figure.savefig(temporary, format="png", metadata={"Software": None})
    temporary.replace(path)


def write_pictures(output_dir: Path, histograms: dict[str, dict], *, max_lengths: dict[str, int] | None = None
                   ) -> dict[str, list[dict]]:
    """Draw every recorded histogram; return config -> ``[{"key", "title", "path"}]`` of the written files.

    Args:
        output_dir: the dataset folder; pictures go to ``images/<config>/<key>.png`` (the folder is
            replaced, so pictures of statistics no longer recorded do not linger).
        histograms: config name -> statistics key -> histogram (``{"bin_width", "bins"}``).
        max_lengths: config name -> training length, marked on the tokens-per-row picture.

    Returns:
        The pictures written, with paths relative to ``output_dir`` (empty without matplotlib, and then
        the folder's old pictures are removed).
    """
    folder = output_dir / IMAGES_FOLDER
    if not _have_matplotlib():
        # Pictures of an earlier run would describe other statistics: none is better than stale ones.
        _remove(folder)
        return {}
    staging = output_dir / f".{IMAGES_FOLDER}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    written: dict[str, list[dict]] = {}
    for config, recorded in histograms.items():
        for key, title, label, unit in PICTURES:
            histogram = recorded.get(key) if isinstance(recorded, dict) else None
            if not _valid(histogram):
                continue
            (staging / config).mkdir(parents=True, exist_ok=True)
            limit = (max_lengths or {}).get(config) if key == "tokens_per_row" else None
            _draw_histogram(histogram, title, label, unit, staging / config / f"{key}.png", max_length=limit)
            written.setdefault(config, []).append(
                {"key": key, "title": title, "path": f"{IMAGES_FOLDER}/{config}/{key}.png"})
    _remove(folder)
    if written:
        staging.replace(folder)
    else:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def _remove(path: Path) -> None:
    """Remove the pictures folder; a link planted in its place is removed itself, never followed."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _valid(histogram) -> bool:
    if not isinstance(histogram, dict) or not isinstance(histogram.get("bin_width"), int):
        return False
    bins = histogram.get("bins")
    return isinstance(bins, list) and bool(bins) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(value, int) for value in pair) for pair in bins)
