"""Token counts, the card's pictures and ``lintseq show --html`` (rendered in a real headless Chromium)."""

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub_tools.datagen.run_statistics import lines_added


def run_cli(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "hub_tools.cli", *args], capture_output=True, text=True, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def tokenizer_folder(tmp_path_factory) -> Path:
    """A byte-level BPE tokenizer trained here on standard-library modules, saved as training saves it."""
    from hub_tools.training.tokenizer import prepare_tokenizer, train_tokenizer

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    tokenizer = train_tokenizer([stdlib / name for name in ("textwrap.py", "heapq.py", "bisect.py")], vocab_size=700)
    prepare_tokenizer(tokenizer)
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def counted(tmp_path_factory, tokenizer_folder, humaneval_corpus, stdlib_corpus) -> Path:
    source = tmp_path_factory.mktemp("tokens") / "programs.jsonl"
    rows = [{"instruction": f"Task {i}: write it.", "response": program}
            for i, program in enumerate(humaneval_corpus[30:45] + stdlib_corpus[:15])]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    folder = source.parent / "dataset"
    result = run_cli("generate", str(source), "--output-dir", str(folder), "--sampler", "random", "--num-paths", "2",
                     "--tokenizer", str(tokenizer_folder), "--no-progress")
    assert "contamination: 15 source rows overlap 15 problems of humaneval" in result.stdout
    return folder


def rows_of(folder: Path, config: str) -> list[dict]:
    return [row for shard in sorted((folder / "data" / config).glob("*.parquet")) for row in pq.read_table(shard).to_pylist()]


def test_token_counts_match_an_independent_count(counted, tokenizer_folder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    settings = json.loads((counted / "lintseq_config.json").read_text())
    for config in ("random", "baseline"):
        rows = rows_of(counted, config)
        prompts = [len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]) for row in rows]
        completions = [len(tokenizer(row["completion"], add_special_tokens=False)["input_ids"]) + 1 for row in rows]
        totals = [p + c for p, c in zip(prompts, completions, strict=True)]
        stats = settings["configs"][config]["stats"]["tokens"]
        assert stats["rows"] == len(rows) == (60 if config == "random" else 30)
        assert stats["prompt"]["sum"] == sum(prompts) and stats["completion"]["max"] == max(completions)
        assert stats["total"]["sum"] == sum(totals) and stats["total"]["max"] == max(totals)
        assert stats["over_max_length"] == round(sum(t > 1024 for t in totals) / len(totals), 4)
        assert stats["tokenizer"]["vocab_size"] == len(tokenizer)
        histogram = settings["configs"][config]["stats"]["histograms"]["tokens_per_row"]
        assert sum(count for _, count in histogram["bins"]) == len(rows)
    card = (counted / "README.md").read_text()
    assert "| total tokens per row | mean" in card and f"`{tokenizer_folder}`" in card


def test_the_paper_tokenizer_is_the_default_when_it_is_in_the_local_cache(tmp_path, tokenizer_folder):
    """The Hub cache layout of upiter/TinyCodeLM-150M, holding a tokenizer.json: no request is made."""
    import os

    revision = "0" * 40
    repository = tmp_path / "hub" / "models--upiter--TinyCodeLM-150M"
    (repository / "refs").mkdir(parents=True)
    (repository / "refs" / "main").write_text(revision)
    (repository / "snapshots" / revision).mkdir(parents=True)
    shutil.copy(tokenizer_folder / "tokenizer.json", repository / "snapshots" / revision / "tokenizer.json")
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"instruction": "Add.", "response": "def add(a, b):\n    return a + b"}) + "\n")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    for option, expected in (([], "upiter/TinyCodeLM-150M"), (["--tokenizer", "none"], None)):
        folder = tmp_path / f"out{len(option)}"
        run_cli("generate", str(source), "--output-dir", str(folder), "--sampler", "random", "--no-progress",
                *option, env=env)
        stats = json.loads((folder / "lintseq_config.json").read_text())["configs"]["random"]["stats"]
        assert (stats.get("tokens") or {}).get("tokenizer", {}).get("name") == expected


def test_diff_separator_is_one_token_even_when_the_tokenizer_lacks_it(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from hub_tools.datagen.token_statistics import load_tokenizer

    plain = Tokenizer(models.BPE())
    plain.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    plain.train_from_iterator(["def f(x):\n    return x\n"] * 50, trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    plain.save(str(tmp_path / "tokenizer.json"))
    assert len(plain.encode("<|diff|>").ids) > 1
    assert len(load_tokenizer(str(tmp_path / "tokenizer.json")).encode("<|diff|>").ids) == 1


def test_bad_tokenizer_fails_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli("generate", "--output-dir", str(tmp_path / "x"), "--tokenizer", str(tmp_path / "empty"), check=False)
    assert result.returncode != 0 and "the folder has no tokenizer.json" in result.stderr
    (tmp_path / "bad.json").write_text("{}")
    result = run_cli("generate", "--output-dir", str(tmp_path / "x"), "--tokenizer", str(tmp_path / "bad.json"), check=False)
    assert result.returncode != 0 and "not a tokenizer file" in result.stderr and "Traceback" not in result.stderr


def test_histograms_count_inserted_lines_not_headers(counted):
    settings = json.loads((counted / "lintseq_config.json").read_text())
    stats = settings["configs"]["random"]["stats"]
    rows = rows_of(counted, "random")
    lines = [sum(1 for line in diff.split("\n") if line.startswith("+")) for row in rows for diff in row["edit_path"]]
    assert lines == [lines_added(diff) for row in rows for diff in row["edit_path"]]
    histogram = stats["histograms"]["lines_per_edit"]
    assert sum(count for _, count in histogram["bins"]) == len(lines)
    assert stats["lines_per_edit"]["max"] == max(lines) and stats["lines_per_edit"]["min"] == min(lines)
    # Each program's lines are written exactly once, so all edits of a path add up to its program.
    assert sum(lines) == sum(row["program"].count("\n") + 1 for row in rows)
    edits = stats["histograms"]["edits_per_program"]
    assert sum(count for _, count in edits["bins"]) == len(rows)


def test_card_pictures_exist_load_and_are_referenced(counted):
    from PIL import Image

    card = (counted / "README.md").read_text()
    pictures = sorted(path.relative_to(counted).as_posix() for path in (counted / "images").rglob("*.png"))
    assert pictures == ["images/baseline/tokens_per_row.png", "images/random/edits_per_program.png",
                        "images/random/lines_per_edit.png", "images/random/tokens_per_row.png"]
    for picture in pictures:
        assert f"]({picture})" in card
        with Image.open(counted / picture) as image:
            image.load()
            assert image.size == (640, 320)
            colours = image.convert("RGB").getcolors(maxcolors=100_000)
        bar_pixels = sum(count for count, colour in colours if colour == (0x4C, 0x78, 0xA8))
        assert bar_pixels > 2000, picture  # the bars are drawn
    # The step-by-step example is in the card, as a coloured diff of the whole program per edit.
    assert "## An edit sequence, step by step" in card and "```diff\n+" in card
    # The pictures are part of what a push uploads.
    from hub_tools.hub.upload_plan import plan_dataset_upload

    uploaded = {planned.path_in_repo for planned in plan_dataset_upload(counted).files}
    assert set(pictures) <= uploaded


def test_card_renders_without_pillow(counted, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(counted, folder)
    script = ("import sys; sys.modules['PIL'] = None\n"
              "from hub_tools.datagen.card import write_dataset_card\n"
              f"write_dataset_card({str(folder)!r})\n")
    subprocess.run([sys.executable, "-c", script], check=True)
    card = (folder / "README.md").read_text()
    assert not (folder / "images").exists()
    assert "images/" not in card and "## Pictures" not in card and "| total tokens per row |" in card


def test_pictures_are_the_same_bytes_when_drawn_again(counted, tmp_path):
    from hub_tools.datagen.card import write_dataset_card

    folder = tmp_path / "again"
    shutil.copytree(counted, folder)
    write_dataset_card(folder)
    for picture in (counted / "images").rglob("*.png"):
        assert (folder / picture.relative_to(counted)).read_bytes() == picture.read_bytes()


def test_show_html_renders_in_headless_chromium(counted, tmp_path):
    page = tmp_path / "row.html"
    result = run_cli("show", str(counted), "--index", "3", "--html", str(page))
    assert f"wrote {page}" in result.stdout
    text = page.read_text()
    row = rows_of(counted, "random")[3]
    assert text.count('<section id="edit-') == row["num_edits"]
    assert "<script" not in text and "http" not in text  # standalone: nothing to fetch
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    screenshot = tmp_path / "row.png"
    subprocess.run([chromium, *flags, f"--screenshot={screenshot}", "--window-size=1000,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    # What the browser built: one section per edit, and every inserted line marked.
    assert dom.count('<section id="edit-') == row["num_edits"]
    assert dom.count('<tr class="inserted">') == sum(lines_added(diff) for diff in row["edit_path"])
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.size == (1000, 900)
        colours = dict((colour, count) for count, colour in image.convert("RGB").getcolors(maxcolors=1_000_000))
    assert colours.get((0x1F, 0x2A, 0x44), 0) > 20_000  # the header band
    assert colours.get((0xDA, 0xFB, 0xE1), 0) > 2_000  # inserted lines, highlighted
    keep = Path(__file__).resolve().parents[2] / "outputs"
    if keep.is_dir():  # a screenshot to look at, when the checkout has an outputs/ folder
        shutil.copy(screenshot, keep / "show-html-screenshot.png")


def test_show_html_bad_target(counted, tmp_path):
    result = run_cli("show", str(counted), "--html", str(tmp_path), check=False)
    assert result.returncode != 0 and "is a folder" in result.stderr
    result = run_cli("show", str(counted), "--html", str(tmp_path / "missing" / "page.html"), check=False)
    assert result.returncode != 0 and "does not exist" in result.stderr


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory) -> Path:
    """Rows whose text tries to break out of HTML and Markdown."""
    source = tmp_path_factory.mktemp("hostile") / "hostile.jsonl"
    instruction = "<img src=x onerror=alert(1)></pre><script>alert(1)</script>\n```\n# not a heading"
    program = 'def page():\n    html = "</td></tr><script>alert(2)</script>"\n    marks = "```"\n    return html + marks'
    source.write_text(json.dumps({"instruction": instruction, "response": program}) + "\n")
    folder = source.parent / "dataset"
    run_cli("generate", str(source), "--output-dir", str(folder), "--sampler", "random", "--no-progress")
    return folder


def test_hostile_text_stays_text_in_the_page_and_the_card(hostile_folder, tmp_path):
    page = tmp_path / "hostile.html"
    run_cli("show", str(hostile_folder), "--html", str(page))
    text = page.read_text()
    assert "<script" not in text and "<img" not in text and "&lt;script&gt;alert(1)" in text
    chromium = shutil.which("chromium")
    if chromium is not None:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
        dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                             timeout=120, check=True).stdout
        assert "<script" not in dom and "<img" not in dom and "alert(2)" in dom
    # In the card, the instruction's own ``` cannot close the fence around it.
    card = (hostile_folder / "README.md").read_text()
    assert "````text\n<img src=x" in card and "# not a heading\n````" in card


def test_a_planted_link_in_place_of_the_pictures_is_replaced_not_followed(hostile_folder, tmp_path):
    from hub_tools.datagen.card import write_dataset_card

    folder = tmp_path / "copy"
    shutil.copytree(hostile_folder, folder)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    shutil.rmtree(folder / "images")
    (folder / "images").symlink_to(outside, target_is_directory=True)
    write_dataset_card(folder)
    assert (outside / "keep.txt").read_text() == "mine" and sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert not (folder / "images").is_symlink() and (folder / "images" / "random" / "edits_per_program.png").is_file()


def test_card_survives_forged_statistics(counted, tmp_path):
    from hub_tools.datagen.card import write_dataset_card

    folder = tmp_path / "forged"
    shutil.copytree(counted, folder)
    settings = json.loads((folder / "lintseq_config.json").read_text())
    settings["configs"]["random"]["stats"].update(
        histograms={"edits_per_program": {"bin_width": "x", "bins": [[1]]}, "lines_per_edit": 7},
        contamination=5, tokens=[], dedup="yes", duplicates="many")
    (folder / "lintseq_config.json").write_text(json.dumps(settings))
    write_dataset_card(folder)
    card = (folder / "README.md").read_text()
    assert "images/random/edits_per_program.png" not in card and "images/baseline/tokens_per_row.png" in card


def _colour_columns(path, colour) -> list[int]:
    """The x positions of the picture's columns holding at least one pixel of ``colour``."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        return [x for x in range(rgb.width) if any(rgb.getpixel((x, y)) == colour for y in range(rgb.height))]


def test_a_picture_shows_every_bin_the_training_length_and_one_bin_as_a_bar(tmp_path):
    from hub_tools.datagen.card_pictures import _BAR_COLOUR, _LIMIT_COLOUR, _draw_histogram

    # A value seen once among thousands still shows; the training length is marked where rows come near it.
    rare = {"bin_width": 64, "bins": [[0, 5000], [64, 3000], [1920, 1]]}
    _draw_histogram(rare, "Tokens per row", "tokens", "rows", tmp_path / "rare.png", max_length=2048)
    bars, limit = _colour_columns(tmp_path / "rare.png", _BAR_COLOUR), _colour_columns(tmp_path / "rare.png", _LIMIT_COLOUR)
    assert bars and limit and max(bars) > 400  # the one row at 1,920 tokens, far right
    assert min(limit) > max(bars)  # 2,048 is right of every bar
    # Far from the limit, it is not drawn.
    _draw_histogram(rare, "Tokens per row", "tokens", "rows", tmp_path / "far.png", max_length=100_000)
    assert not _colour_columns(tmp_path / "far.png", _LIMIT_COLOUR)
    # One bin is a bar, not the whole plot.
    _draw_histogram({"bin_width": 1, "bins": [[3, 7]]}, "Edits", "edits", "paths", tmp_path / "one.png")
    assert 0 < len(_colour_columns(tmp_path / "one.png", _BAR_COLOUR)) < 120
