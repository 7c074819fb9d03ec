"""Pictures for the dataset card: histograms of edits per program, lines per edit and tokens per row.

They are drawn from the histograms ``lintseq_config.json`` records (so a card can be rendered again
without reading the rows) and written as PNG files under ``OUT/images/<config>/``, which the Hub uploads
with the folder and shows inline where the card links them. They are drawn with Pillow (the ``cards``
extra) in a few milliseconds each, with Pillow's own font; without Pillow no picture is written and the
card simply has none. The PNG files carry no date or version metadata, so the same statistics give the
same bytes.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

IMAGES_FOLDER = "images"
# (statistics key, title, x-axis label, what is counted), in the order the card shows them.
PICTURES = (
    ("edits_per_program", "Edits per program", "edits in one edit path", "edit paths"),
    ("lines_per_edit", "Lines per edit", "lines inserted by one edit", "edits"),
    ("tokens_per_row", "Tokens per row", "prompt + completion tokens", "rows"),
)
# The picture: 640 x 320 pixels, the plot inside these edges (left, top, right, bottom).
_SIZE = (640, 320)
_PLOT = (83, 38, 621, 266)
_BAR_COLOUR = (0x4C, 0x78, 0xA8)
_LIMIT_COLOUR = (0xE4, 0x57, 0x56)
_GRID_COLOUR = (0xEB, 0xEB, 0xEB)
_TEXT_COLOUR = (0x1A, 0x1A, 0x1A)
# Integer ticks 1, 2 or 5 times a power of ten apart, at most this many intervals on an axis.
_MOST_INTERVALS = 8


def _have_pillow() -> bool:
    try:
        from PIL import ImageDraw, ImageFont  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _font(size: int):
    """Pillow's font at ``size`` pixels, loaded once per process (every picture uses the same three)."""
    from PIL import ImageFont

    # Pillow's own font (no file on the machine is read), scalable where Pillow has FreeType.
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def _tick_step(span: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that cuts ``span`` into at most ``_MOST_INTERVALS``."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            if span / (factor * power) <= _MOST_INTERVALS:
                return factor * power
        power *= 10


def _ticks(low: float, high: float) -> list[int]:
    step = _tick_step(max(high - low, 1))
    first = -(-int(low) // step) * step if low > 0 else (int(low) // step) * step
    return [tick for tick in range(first, int(high) + 1, step) if low <= tick <= high]


def _text(draw, xy: tuple[float, float], text: str, font, *, align: str, fill=_TEXT_COLOUR) -> None:
    """Draw ``text`` with its box's ``align`` point at ``xy``: ``"top"`` (centre of the top edge),
    ``"right"`` (middle of the right edge) or ``"left"`` (middle of the left edge)."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = xy
    if align == "top":
        origin = (x - (left + right) / 2, y - top)
    elif align == "right":
        origin = (x - right, y - (top + bottom) / 2)
    else:
        origin = (x - left, y - (top + bottom) / 2)
    draw.text((round(origin[0]), round(origin[1])), text, font=font, fill=fill)


def _draw_histogram(histogram: dict, title: str, label: str, unit: str, path: Path, *,
                    max_length: int | None = None) -> None:
    from PIL import Image, ImageDraw

    width = histogram["bin_width"]
    starts = [start for start, _ in histogram["bins"]]
    counts = [count for _, count in histogram["bins"]]
    # Integer values in bins of one are centred on their value; wider bins start at their lower edge.
    lefts = [start - 0.5 for start in starts] if width == 1 else list(starts)
    bar = width * 0.9
    show_limit = max_length is not None and starts[-1] + width > max_length * 0.8
    x_low, x_high = min(lefts), max(lefts) + bar
    if show_limit:
        x_low, x_high = min(x_low, max_length), max(x_high, max_length)
    # 5% of the span on either side, and room for eight bins at least: one bar does not fill the plot.
    pad = max(0.05 * (x_high - x_low), (8 * width - (x_high - x_low)) / 2)
    x_low, x_high = x_low - pad, x_high + pad
    y_high = max(max(counts) * 1.05, 1)
    plot_left, plot_top, plot_right, plot_bottom = _PLOT

    def px(x: float) -> float:
        return plot_left + (x - x_low) / (x_high - x_low) * (plot_right - plot_left)

    def py(y: float) -> float:
        return plot_bottom - y / y_high * (plot_bottom - plot_top)

    image = Image.new("RGB", _SIZE, "white")
    draw = ImageDraw.Draw(image)
    small, medium, large = _font(11), _font(12), _font(15)
    widest = 0  # of the y tick labels: the axis label goes left of them
    for tick in _ticks(0, y_high):  # grid lines first: the bars cover them
        y = round(py(tick))
        if tick:
            draw.line([(plot_left, y), (plot_right, y)], fill=_GRID_COLOUR)
        draw.line([(plot_left - 4, y), (plot_left, y)], fill=_TEXT_COLOUR)
        _text(draw, (plot_left - 7, y), f"{tick:,}", small, align="right")
        widest = max(widest, draw.textlength(f"{tick:,}", font=small))
    for left, count in zip(lefts, counts, strict=True):
        if count:  # at least one pixel tall: a rare value stays visible
            top = min(round(py(count)), plot_bottom - 1)
            draw.rectangle([round(px(left)), top, round(px(left + bar)) - 1, plot_bottom], fill=_BAR_COLOUR)
    for tick in _ticks(x_low, x_high):
        x = round(px(tick))
        draw.line([(x, plot_bottom), (x, plot_bottom + 4)], fill=_TEXT_COLOUR)
        _text(draw, (x, plot_bottom + 7), f"{tick:,}", small, align="top")
    if show_limit:
        x = round(px(max_length))
        for y in range(plot_top, plot_bottom, 8):  # dashed
            draw.line([(x, y), (x, min(y + 4, plot_bottom))], fill=_LIMIT_COLOUR, width=2)
        _text(draw, (x + 4, py(max(counts)) + 8), f"{max_length:,}", medium, align="left", fill=_LIMIT_COLOUR)
    draw.line([(plot_left, plot_top), (plot_left, plot_bottom)], fill=_TEXT_COLOUR)  # the left and bottom axes
    draw.line([(plot_left, plot_bottom), (plot_right, plot_bottom)], fill=_TEXT_COLOUR)
    _text(draw, ((plot_left + plot_right) / 2, plot_bottom + 26),
          label + (f" (bins of {width:,})" if width > 1 else ""), medium, align="top")
    _text(draw, (plot_left, 19), f"{title} ({sum(counts):,} {unit})", large, align="left")
    # The y-axis label, written sideways.
    box = draw.textbbox((0, 0), "count", font=medium)
    sideways = Image.new("L", (box[2] + 2, box[3] + 2), 0)
    ImageDraw.Draw(sideways).text((1, 1), "count", font=medium, fill=255)
    sideways = sideways.rotate(90, expand=True)
    corner = (max(round(plot_left - 14 - widest - sideways.width), 2), round((plot_top + plot_bottom - sideways.height) / 2))
    image.paste(_TEXT_COLOUR, corner, sideways)
    temporary = path.with_name(path.name + ".tmp")
    image.save(temporary, format="PNG")  # no date or version chunk: the same statistics give the same bytes
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
        The pictures written, with paths relative to ``output_dir`` (empty without Pillow, and then
        the folder's old pictures are removed).
    """
    folder = output_dir / IMAGES_FOLDER
    if not _have_pillow():
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
