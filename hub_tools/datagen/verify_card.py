"""The check of ``lintseq verify`` on the dataset card: it says what the folder's statistics give.

``lintseq push`` publishes a card edited by hand as it is (:func:`hub_tools.hub.cards.refresh_dataset_card`),
so an edit could change what it states: a card whose contamination statement read "No source row overlaps a
benchmark problem" over a folder holding 132 such rows passed ``verify`` and was published. The card is
rendered again from the folder and its statements are looked for in ``README.md``, each as a whole line:
every row of its tables (statistics, settings, benchmark overlap) and every line of its "Benchmark
contamination" section. Prose added around them, or sections added, is the author's; a statement changed or
removed is a ``card`` failure naming it.

A card older than ``lintseq_config.json`` is checked all the same. ``lintseq push`` renders such a card again, but
the folder is read as it is (``load_dataset``, a copy, another upload tool), and file times say little: a
``git clone`` writes ``README.md`` before the config, and a card whose contamination statement was rewritten
passed once the config was touched. The failure then says that ``push`` would render it again.
"""

from __future__ import annotations

import re

from hub_tools.datagen.folder import DatasetFolder
from hub_tools.datagen.verify_folder import Problem
from hub_tools.errors import UserError

CONTAMINATION_SECTION = "## Benchmark contamination"
# A picture the card shows: a markdown image of the folder's images/ (hub_tools.datagen.card_pictures).
_PICTURE = re.compile(r"!\[[^\]]*\]\((images/[^)\s]+\.png)\)")


def card_statements(card: str) -> list[str]:
    """The lines of a rendered card that state facts: table rows, and the contamination section's lines.

    >>> card_statements("# T\\n\\n| a | b |\\n| --- | --- |\\n| rows | 3 |\\n\\n## Benchmark contamination\\n\\n"
    ...                 "**No row overlaps HumanEval.**\\n\\n## Citation\\n")
    ['| a | b |', '| rows | 3 |', '**No row overlaps HumanEval.**']
    """
    statements, in_section = [], False
    for line in card.splitlines():
        text = line.strip()
        if text.startswith("## "):
            in_section = text == CONTAMINATION_SECTION
            continue
        if text.startswith("|") and set(text) <= set("|-: "):
            continue  # a table's header separator
        if text and (in_section or text.startswith("|")):
            statements.append(text)
    return statements


def _about_contamination(statement: str) -> bool:
    """Whether a card statement (:func:`card_statements`) is about benchmark overlap: a line of the contamination
    section, or a table row naming overlap (the statistics' ``| benchmark overlap | ... |``)."""
    if statement.startswith("|"):
        return "overlap" in statement.split("|")[1].lower()
    return True  # the statements that are not table rows are the contamination section's lines


def card_problems(dataset: DatasetFolder) -> list[tuple[Problem, bool]]:
    """The card's statements that ``README.md`` does not hold as the folder's statistics give them, each problem
    with whether it is about the benchmark contamination section."""
    from hub_tools.datagen.card import render_dataset_card
    from hub_tools.datagen.writer import CONFIG_FILE

    readme = dataset.path / "README.md"
    settings = dataset.path / CONFIG_FILE
    if not readme.is_file():
        return []  # said in a note (verify.py): a folder built by other means may have none yet
    text = readme.read_text(encoding="utf-8", errors="replace")
    missing_pictures = sorted({link for link in _PICTURE.findall(text) if not (dataset.path / link).is_file()})
    if missing_pictures:
        return [(("card", "README.md", f"{len(missing_pictures)} of the card's pictures are missing, first: "
                  f"{missing_pictures[0]}; run the same `lintseq generate` command again, which draws them"), False)]
    try:
        rendered = render_dataset_card(dataset.path)
    except UserError:
        return []  # no shard to describe: the shard checks say so
    lines = {line.strip() for line in text.splitlines()}
    statements = card_statements(rendered)
    contamination = {statement for statement in statements if _about_contamination(statement)}
    stale = settings.is_file() and readme.stat().st_mtime < settings.stat().st_mtime
    problems = []
    for about_contamination in (True, False):
        missing = [statement for statement in statements
                   if statement not in lines and (statement in contamination) == about_contamination]
        if missing:
            shown = missing[0] if len(missing[0]) <= 300 else missing[0][:297] + "..."
            fix = "`lintseq push` renders it again (README.md is older than lintseq_config.json)" if stale else \
                "delete README.md and `lintseq push` writes the card again, or put the statement back"
            what = "contamination statements" if about_contamination else "statements"
            problems.append((("card", "README.md", f"{len(missing)} of the card's {what} are not there as the folder "
                              f"gives them, first: {shown!r}; {fix}"), about_contamination))
    return problems
