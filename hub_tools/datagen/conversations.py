"""Conversational sources: a row whose field holds a chat, as TRL's ``SFTTrainer`` and most instruction sets do.

Two spellings are read, one turn per list entry:

- ``{"role": "user", "content": "..."}``: the ``messages`` of TRL's conversational format and of chat
  templates; ``content`` may also be a list of parts (``[{"type": "text", "text": "..."}]``), whose texts are
  joined;
- ``{"from": "human", "value": "..."}``: ShareGPT's ``conversations``.

The list may also come as a JSON text (a CSV column, a string feature), which is parsed, or as the dict of
lists ``datasets`` makes of a column declared as a ``Sequence`` of dicts.

A LintSeq row is one instruction and one program, so a conversation gives a row when it is a single exchange:
system turns first (any number, left out: a system prompt says how to answer, not what to write), then one
user turn, then one assistant turn, whose code is the program (:func:`~hub_tools.lintseq.extract_program`
strips its markdown, as for any response). Anything else is skipped and counted, with the turn at fault:
``multi_turn`` for a longer exchange (which turn's code would be the program is not ours to guess),
``not_a_conversation`` for a value of another shape.

The field is named as both the prompt and the code field (``--prompt-field messages --code-field messages``),
which is what detection picks for a source whose only known field is one of :data:`CONVERSATION_FIELDS`.
"""

from __future__ import annotations

import contextlib
import json

from hub_tools.errors import UNREADABLE_JSON
from hub_tools.recursion_budget import at_any_depth

CONVERSATION_FIELDS = ("messages", "conversations", "conversation")

# Role names of the two spellings (ShareGPT's ``human`` / ``gpt``; ``model`` as Gemma's templates write it).
USER_ROLES = frozenset({"user", "human"})
ASSISTANT_ROLES = frozenset({"assistant", "gpt", "model"})
SYSTEM_ROLES = frozenset({"system", "developer"})


class ConversationError(ValueError):
    """The value is not a one-exchange conversation; ``reason`` is the skip reason, the message its detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _turn(entry: object, number: int) -> tuple[str, object]:
    """(role, content) of one turn, in either spelling."""
    if not isinstance(entry, dict):
        raise ConversationError("not_a_conversation", f"turn {number} is a {type(entry).__name__}, not an object")
    for role_key, content_key in (("role", "content"), ("from", "value")):
        if role_key in entry:
            if content_key not in entry:
                raise ConversationError("not_a_conversation", f"turn {number} has {role_key!r} but no {content_key!r}")
            return str(entry[role_key]).lower(), entry[content_key]
    raise ConversationError("not_a_conversation", f"turn {number} has neither 'role' nor 'from'")


def _text(content: object, number: int) -> str:
    """A turn's text: a string, or the joined texts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        texts = [part.get("text") for part in content if part.get("type", "text") == "text"]
        if len(texts) == len(content) and all(isinstance(text, str) for text in texts):
            return "".join(texts)
        raise ConversationError("not_a_conversation", f"turn {number} has parts other than text")
    kind = "null" if content is None else type(content).__name__
    raise ConversationError("not_a_conversation", f"turn {number}'s content is {kind}, not text")


def single_exchange(value: object) -> tuple[str, str]:
    """The user's message and the assistant's answer of a one-exchange conversation.

    Raises:
        ConversationError: the value is not one (see the module docstring), with the turn at fault.

    >>> single_exchange([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Add."},
    ...                  {"role": "assistant", "content": "def add(a, b):\\n    return a + b"}])
    ('Add.', 'def add(a, b):\\n    return a + b')
    >>> single_exchange([{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "x = 1"},
    ...                  {"from": "human", "value": "More"}, {"from": "gpt", "value": "y = 2"}])
    Traceback (most recent call last):
    ...
    hub_tools.datagen.conversations.ConversationError: 4 turns after the system turns; only a user turn and the assistant's answer are read
    """
    if isinstance(value, str) and value.lstrip().startswith("["):
        # Some sets store the turns as a JSON text (a CSV column, a string feature).
        with contextlib.suppress(*UNREADABLE_JSON):  # not JSON after all: reported below as text
            value = at_any_depth(json.loads, value)
    if isinstance(value, dict) and value and all(isinstance(column, list) for column in value.values()) \
            and len({len(column) for column in value.values()}) == 1:
        # A `Sequence` of dicts, as `datasets` decodes one declared so: a dict of lists, one list per key.
        value = [dict(zip(value, turn, strict=True)) for turn in zip(*value.values(), strict=True)]
    if not isinstance(value, list):
        kind = "null" if value is None else type(value).__name__
        raise ConversationError("not_a_conversation", f"a {kind}, not a list of turns")
    turns = [_turn(entry, number) for number, entry in enumerate(value, start=1)]
    first = next((index for index, (role, _) in enumerate(turns) if role not in SYSTEM_ROLES), len(turns))
    exchange = turns[first:]
    if len(exchange) > 2:
        raise ConversationError("multi_turn", f"{len(exchange)} turns after the system turns; only a user turn "
                                "and the assistant's answer are read")
    expected = (USER_ROLES, ASSISTANT_ROLES)
    for offset, (roles, name) in enumerate(zip(expected, ("user", "assistant"), strict=True)):
        number = first + offset + 1
        if offset >= len(exchange):
            raise ConversationError("not_a_conversation", f"no {name} turn (turn {number})")
        if exchange[offset][0] not in roles:
            raise ConversationError("not_a_conversation",
                                    f"turn {number} is from {exchange[offset][0]!r}, expected the {name}")
    return _text(exchange[0][1], first + 1), _text(exchange[1][1], first + 2)
