"""The check of ``lintseq verify`` on the dataset card: it says what the folder's statistics give.

``lintseq push`` publishes a card edited by hand as it is (:func:`hub_tools.hub.cards.refresh_dataset_card`),
so an edit could change what it states: a card whose contamination statement read "No source row overlaps a
benchmark problem" over a folder holding 132 such rows passed ``verify`` and was published. The card is
rendered again from the folder and its statements are looked for in ``README.md``, each as a whole line:
every row of its tables (statistics, settings, benchmark overlap) and every line of its "Benchmark
contamination" section. Prose added around them, or sections added, is the author's; a statement changed or
removed is a ``card`` failure naming it.

A card older than ``lintseq_config.json`` is not checked: ``lintseq push`` renders such a card again.
"""

from __future__ import annotations

from hub_tools.datagen.folder import DatasetFolder
from hub_tools.datagen.verify_folder import Problem
from hub_tools.errors import UserError

CONTAMINATION_SECTION = "## Benchmark contamination"


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


def card_problems(dataset: DatasetFolder) -> list[Problem]:
    """The card's statements that ``README.md`` does not hold as the folder's statistics give them."""
    from hub_tools.datagen.card import render_dataset_card
    from hub_tools.datagen.writer import CONFIG_FILE

    readme = dataset.path / "README.md"
    settings = dataset.path / CONFIG_FILE
    if not readme.is_file() or readme.stat().st_mtime < settings.stat().st_mtime:
        return []  # no card, or one push renders again
    try:
        rendered = render_dataset_card(dataset.path)
    except UserError:
        return []  # no shard to describe: the shard checks say so
    lines = {line.strip() for line in readme.read_text(encoding="utf-8", errors="replace").splitlines()}
    missing = [statement for statement in card_statements(rendered) if statement not in lines]
    if not missing:
        return []
    shown = missing[0] if len(missing[0]) <= 300 else missing[0][:297] + "..."
    return [("card", "README.md", f"{len(missing)} of the card's statements are not there as the folder gives "
             f"them, first: {shown!r}; delete README.md and `lintseq push` writes the card again, or put the "
             "statement back")]
