"""Instruction sets laid out as conversations (TRL's ``messages``, ShareGPT's ``conversations``) or as Alpaca
(``instruction``, ``input``, ``output``): each row gives the rows its flat pair gives."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_tools.datagen.builder import LintSeqBuilder
from hub_tools.datagen.conversations import ConversationError, single_exchange
from hub_tools.datagen.sources import detect_fields

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)

def rows_of(folder: Path, config: str) -> list[dict]:
    return [row for shard in sorted((folder / "data" / config).glob("*.parquet")) for row in pq.read_table(shard).to_pylist()]


def verify(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub_tools.cli", "verify", str(folder)], capture_output=True, text=True)


# Malformed conversations, each skipped with its reason and a detail naming the turn.
BROKEN = [
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "x = 1"},
      {"role": "user", "content": "b"}, {"role": "assistant", "content": "y = 2"}],
     "multi_turn", "'messages': 4 turns after the system turns; only a user turn and the assistant's answer are read"),
    ([{"role": "assistant", "content": "x = 1"}], "not_a_conversation", "'messages': turn 1 is from 'assistant', expected the user"),
    ([{"role": "system", "content": "s"}, {"role": "user", "content": "a"}], "not_a_conversation",
     "'messages': no assistant turn (turn 3)"),
    ("def f():\n    pass", "not_a_conversation", "'messages': a str, not a list of turns"),
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": None}], "not_a_conversation",
     "'messages': turn 2's content is null, not text"),
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "image", "url": "u"}]}],
     "not_a_conversation", "'messages': turn 2 has parts other than text"),
    ([{"speaker": "user", "text": "a"}], "not_a_conversation", "'messages': turn 1 has neither 'role' nor 'from'"),
    (None, "missing_field", "'messages' is null"),
]


def _chat(instruction: str, program: str, number: int) -> list[dict]:
    """One exchange, in the spelling ``number`` picks: plain, with a system turn, with text parts."""
    answer = f"Here is the function:\n\n```python\n{program}\n```\n"
    turns = [{"role": "user", "content": instruction}, {"role": "assistant", "content": answer}]
    if number % 3 == 1:
        turns.insert(0, {"role": "system", "content": "You write Python."})
    elif number % 3 == 2:
        turns = [{"role": turn["role"], "content": [{"type": "text", "text": turn["content"]}]} for turn in turns]
    return turns


@pytest.mark.parametrize(("available", "given", "expected"), [
    (["messages"], (None, None), ("messages", "messages")),
    (["conversations", "id"], (None, None), ("conversations", "conversations")),
    (["instruction", "response", "messages"], (None, None), ("instruction", "response")),  # a pair still wins
    (["chat", "source"], (None, "chat"), (None, "chat")),  # another name is a code field unless named twice
    (["chat", "source"], ("chat", "chat"), ("chat", "chat")),
])
def test_detection(available, given, expected):
    assert detect_fields(available, *given) == expected


def test_sharegpt_spelling_and_roles():
    turns = [{"from": "system", "value": "s"}, {"from": "human", "value": "Add."}, {"from": "gpt", "value": "x = 1"}]
    assert single_exchange(turns) == ("Add.", "x = 1")
    assert single_exchange(json.dumps(turns)) == ("Add.", "x = 1")  # the turns as a JSON text (a CSV column)
    columns = {"role": ["user", "assistant"], "content": ["Add.", "x = 1"]}  # datasets' decoding of a Sequence
    assert single_exchange(columns) == ("Add.", "x = 1")
    with pytest.raises(ConversationError, match="turn 2 is from 'gpt', expected the user"):
        single_exchange([{"from": "system", "value": "s"}, {"from": "gpt", "value": "x = 1"}])


@pytest.fixture(scope="module")
def conversation_runs(tmp_path_factory, humaneval_corpus):
    """The same twelve HumanEval exchanges as conversations (JSONL with broken rows, and Parquet) and flat."""
    folder = tmp_path_factory.mktemp("conversations")
    programs = humaneval_corpus[:12]
    instructions = [f"Task {number}: write the function." for number in range(len(programs))]
    chats = [_chat(instruction, program, number) for number, (instruction, program)
             in enumerate(zip(instructions, programs, strict=True))]
    lines = [json.dumps({"messages": chat, "source": "humaneval"}) for chat in chats]
    for offset, (value, _, _) in enumerate(BROKEN):  # spread between the good rows
        lines.insert(2 * offset + 1, json.dumps({"messages": value, "source": "broken"}))
    (folder / "chats.jsonl").write_text("\n".join(lines) + "\n")
    # Parquet as `datasets` pushes a conversational set: a list<struct<role, content>> column.
    plain = [[{"role": turn["role"], "content": turn["content"] if isinstance(turn["content"], str)
               else turn["content"][0]["text"]} for turn in chat if turn["role"] != "system"] for chat in chats]
    pq.write_table(pa.table({"messages": plain}), folder / "chats.parquet")
    flat = [{"instruction": instruction, "response": chat[-1]["content"] if isinstance(chat[-1]["content"], str)
             else chat[-1]["content"][0]["text"]} for instruction, chat in zip(instructions, chats, strict=True)]
    (folder / "flat.jsonl").write_text("".join(json.dumps(row) + "\n" for row in flat))
    outputs = {}
    for name in ("chats.jsonl", "chats.parquet", "flat.jsonl"):
        outputs[name] = folder / f"out-{name.replace('.', '-')}"
        outputs[name, "result"] = folders.generate(str(folder / name), "--output-dir", str(outputs[name]),
                                                   "--num-paths", "2")
    return folder, outputs, instructions


def test_each_exchange_gives_the_rows_its_flat_pair_gives(conversation_runs):
    _, outputs, instructions = conversation_runs
    assert "conversations in 'messages' (the user's turn is the instruction" in outputs["chats.jsonl", "result"].stderr
    flat = rows_of(outputs["flat.jsonl"], "lintseq")
    assert len(flat) == 24 and sorted({row["instruction"] for row in flat}) == sorted(instructions)
    chats = rows_of(outputs["chats.jsonl"], "lintseq")

    def comparable(rows):
        # Row indices differ (the conversation file has broken rows between the good ones): the rest may not.
        return sorted(({key: value for key, value in row.items() if key != "row_index"} for row in rows),
                      key=lambda row: (row["id"], row["path_index"]))

    assert comparable(chats) == comparable(flat)
    assert all(row["program"] in row["response"] for row in chats)  # the fenced code of the assistant's answer
    assert verify(outputs["chats.jsonl"]).returncode == 0
    card = (outputs["chats.jsonl"] / "README.md").read_text()
    assert "(conversations in `messages`: the user's turn is the instruction" in card
    assert "--prompt-field messages --code-field messages" in card  # the command that writes it again


def test_broken_conversations_are_skipped_with_the_turn_at_fault(conversation_runs):
    _, outputs, _ = conversation_runs
    assert f"skipped {len(BROKEN)} rows" in outputs["chats.jsonl", "result"].stdout
    stats = json.loads((outputs["chats.jsonl"] / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    found = {entry["location"]: (entry["reason"], entry["detail"]) for entry in stats["skipped_rows"]}
    expected = {f"chats.jsonl:{2 * offset + 2}": (reason, detail) for offset, (_, reason, detail) in enumerate(BROKEN)}
    assert found == expected


def test_a_parquet_conversation_column_and_the_builder(conversation_runs, tmp_path):
    folder, outputs, _ = conversation_runs
    parquet = rows_of(outputs["chats.parquet"], "lintseq")
    flat = rows_of(outputs["flat.jsonl"], "lintseq")
    assert sorted((row["id"], row["path_index"], tuple(row["edit_path"])) for row in parquet) == \
        sorted((row["id"], row["path_index"], tuple(row["edit_path"])) for row in flat)
    builder = LintSeqBuilder(config_name="lintseq", source=str(folder / "chats.parquet"), num_paths=2,
                             cache_dir=str(tmp_path))
    builder.download_and_prepare(num_proc=1)
    built = builder.as_dataset(split="train")
    assert sorted((row["id"], row["path_index"], tuple(row["edit_path"])) for row in built) == \
        sorted((row["id"], row["path_index"], tuple(row["edit_path"])) for row in parquet)


def test_alpaca_input_is_part_of_the_instruction(tmp_path, humaneval_corpus):
    programs = humaneval_corpus[:4]
    inputs = ["[3, 1, 2]", "", None, "  "]  # an input, an empty one, a null one, a blank one
    rows = [{"instruction": f"Task {number}: use the input.", "input": value, "output": program}
            for number, (value, program) in enumerate(zip(inputs, programs, strict=True))]
    rows[2].pop("input")  # absent, as in a hand-made file
    source = tmp_path / "alpaca.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "out"
    result = folders.generate(str(source), "--output-dir", str(out))
    assert "prompt fields 'instruction' + 'input' (joined by a blank line where not empty), code field 'output'" \
        in result.stderr
    instructions = {row["row_index"]: row["instruction"] for row in rows_of(out, "lintseq")}
    assert instructions == {0: "Task 0: use the input.\n\n[3, 1, 2]", 1: "Task 1: use the input.",
                            2: "Task 2: use the input.", 3: "Task 3: use the input."}
    card = (out / "README.md").read_text()
    assert "--prompt-field instruction+input --code-field output" in card
    assert verify(out).returncode == 0
    # The same rows on datatrove's local executor: the reader's documents carry the program as their text.
    distributed = tmp_path / "distributed"
    folders.generate(str(source), "--output-dir", str(distributed), "--executor", "local", "--tasks", "2",
                     "--logging-dir", str(tmp_path / "logs"))
    assert sorted(map(json.dumps, rows_of(distributed, "lintseq"))) == sorted(map(json.dumps, rows_of(out, "lintseq")))


def test_the_reader_gives_datatrove_the_program_of_every_layout(tmp_path, humaneval_corpus):
    from hub_tools.datagen.distributed import LintSeqReader
    from hub_tools.lintseq import normalize_program

    program = humaneval_corpus[0]
    layouts = {"chat.jsonl": {"messages": _chat("Do it.", program, 1)},
               "alpaca.jsonl": {"instruction": "Do it.", "input": "x", "output": f"```python\n{program}\n```"}}
    for name, row in layouts.items():
        (tmp_path / name).write_text(json.dumps(row) + "\n")
        documents = list(LintSeqReader(str(tmp_path / name)).run())
        assert [normalize_program(document.text) for document in documents] == [normalize_program(program)], name


def test_a_csv_row_is_located_at_the_line_it_starts_on(tmp_path):
    # Code cells span lines; the csv module counts the last line of a row. A blank line, a short row and a
    # long one are read as DictReader reads them, and skipping rows (a resumed task) starts at the same row.
    import csv

    from hub_tools.datagen.source_files import file_records

    path = tmp_path / "code.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instruction", "response"])
        writer.writerow(["Add one.", "def f(x):\n    return x + 1\n"])
        handle.write("\n")
        writer.writerow(["Short row."])
        writer.writerow(["Extra cells.", "x = 1\n", "surplus"])
    records = list(file_records(path, "code.csv"))
    assert [record.location for record in records] == ["code.csv:2", "code.csv:6", "code.csv:7"]
    assert records[0].fields == {"instruction": "Add one.", "response": "def f(x):\n    return x + 1\n"}
    assert records[1].fields == {"instruction": "Short row.", "response": None}
    assert records[2].fields == {"instruction": "Extra cells.", "response": "x = 1\n", None: ["surplus"]}
    assert [record.location for record in file_records(path, "code.csv", skip=1)] == ["code.csv:6", "code.csv:7"]
    assert [record.fields for record in records] == list(csv.DictReader(path.open(newline="")))
