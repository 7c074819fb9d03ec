"""One edit sequence, step by step: the program after every edit, with the lines that edit inserted marked.

The same view in three forms: the terminal (``lintseq show``), Markdown for the dataset card (diff blocks,
which the Hub colours: inserted lines green), and a standalone HTML page (``lintseq show --html``) with
syntax highlighting and no external resource, so it opens offline and can be attached anywhere.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass
class Step:
    """The program after one edit: its diff, its text, and which of its lines (1-based) the edit inserted."""

    number: int
    diff: str
    program: str = ""
    inserted: set[int] = field(default_factory=set)
    error: str | None = None


def replay_steps(edit_path: list[str]) -> list[Step]:
    """Apply the edits one by one; a diff that does not apply ends the list with a step carrying ``error``.

    >>> [step.inserted for step in replay_steps(["@@ -0,0 +1,2 @@\\n+def f(x):\\n+    return x"])]
    [{1, 2}]
    """
    from hub_tools.datagen.row_checks import insert_identities
    from hub_tools.lintseq import DiffError, apply_diff

    steps, lines, identities = [], [], []
    for number, diff in enumerate(edit_path, start=1):
        try:
            lines = apply_diff(lines, diff)
        except DiffError as error:
            steps.append(Step(number, diff, "\n".join(lines), error=str(error)))
            break
        before = len(identities)
        identities = insert_identities(identities, diff)
        inserted = {position + 1 for position, identity in enumerate(identities) if identity >= before}
        steps.append(Step(number, diff, "\n".join(lines), inserted))
    return steps


def markdown_steps(steps: list[Step]) -> str:
    """The steps as Markdown: a heading and a ``diff`` block of the whole program per edit.

    >>> print(markdown_steps(replay_steps(["@@ -0,0 +1 @@\\n+x = 1", "@@ -1,0 +2 @@\\n+print(x)"])))
    **Edit 1 of 2** (1 line inserted)
    ```diff
    +x = 1
    ```
    **Edit 2 of 2** (1 line inserted)
    ```diff
     x = 1
    +print(x)
    ```
    """
    blocks = []
    for step in steps:
        if step.error:
            blocks.append(f"**Edit {step.number} of {len(steps)}** does not apply: {step.error}")
            break
        count = len(step.inserted)
        lines = [f"{'+' if number in step.inserted else ' '}{line}"
                 for number, line in enumerate(step.program.split("\n"), start=1)]
        fence = "````" if any("```" in line for line in lines) else "```"
        blocks.append(f"**Edit {step.number} of {len(steps)}** ({count} line{'s' if count != 1 else ''} inserted)\n"
                      f"{fence}diff\n" + "\n".join(lines) + f"\n{fence}")
    return "\n".join(blocks)


_STYLE = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f6f7f9; color: #1f2328; }
header { background: #1f2a44; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: #c9d1e3; font-size: 13px; }
main { max-width: 980px; margin: 0 auto; padding: 20px 32px 40px; }
section { background: #fff; border: 1px solid #d8dee4; border-radius: 8px; margin: 16px 0; overflow: hidden; }
section h2 { font-size: 15px; margin: 0; padding: 10px 14px; background: #eef1f5; border-bottom: 1px solid #d8dee4; }
section h2 .count { float: right; font-weight: normal; color: #57606a; }
.instruction { white-space: pre-wrap; padding: 12px 14px; margin: 0; font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
table.code { border-collapse: collapse; width: 100%; font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
table.code td { padding: 0 10px; white-space: pre; vertical-align: top; }
table.code td.number { width: 1%; text-align: right; color: #8c959f; user-select: none; border-right: 1px solid #e5e8eb; }
table.code td.mark { width: 1%; padding: 0 4px; color: #1a7f37; font-weight: bold; user-select: none; }
table.code tr.inserted { background: #dafbe1; }
table.code tr.inserted td.number { color: #1a7f37; }
.error { color: #cf222e; padding: 10px 14px; }
footer { color: #57606a; font-size: 13px; margin-top: 20px; }
"""


def _highlighted_lines(program: str) -> list[str]:
    """Each line of ``program`` as HTML with Pygments' token colours inlined (one span per token)."""
    from pygments import lex
    from pygments.lexers import PythonLexer
    from pygments.styles import get_style_by_name

    style = get_style_by_name("default")
    lines, current = [], []
    for token_type, value in lex(program, PythonLexer(stripnl=False, ensurenl=False)):
        colour = style.style_for_token(token_type).get("color")
        for index, piece in enumerate(value.split("\n")):
            if index:
                lines.append("".join(current))
                current = []
            if piece:
                escaped = html.escape(piece)
                current.append(f'<span style="color:#{colour}">{escaped}</span>' if colour else escaped)
    lines.append("".join(current))
    return lines


def html_page(title: str, subtitle: str, instruction: str, steps: list[Step], closing: str) -> str:
    """A standalone HTML page: the instruction, then the program after every edit with its new lines marked."""
    sections = [f'<section><h2>Instruction</h2><pre class="instruction">{html.escape(instruction)}</pre></section>']
    for step in steps:
        if step.error:
            sections.append(f'<section><h2>Edit {step.number} of {len(steps)}</h2>'
                            f'<p class="error">This edit does not apply: {html.escape(step.error)}</p></section>')
            break
        rows = []
        for number, line in enumerate(_highlighted_lines(step.program), start=1):
            inserted = number in step.inserted
            rows.append(f'<tr{" class=inserted" if inserted else ""}><td class="number">{number}</td>'
                        f'<td class="mark">{"+" if inserted else ""}</td><td>{line}</td></tr>')
        count = len(step.inserted)
        sections.append(f'<section id="edit-{step.number}"><h2>Edit {step.number} of {len(steps)}'
                        f'<span class="count">{count} line{"s" if count != 1 else ""} inserted</span></h2>'
                        f'<table class="code">{"".join(rows)}</table></section>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header><main>"
            + "".join(sections) + f"<footer>{html.escape(closing)}</footer></main></body></html>\n")
