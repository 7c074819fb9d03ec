"""Markdown fences as models and people write them: line endings, bare and tilde fences, tags, indentation."""

import pytest

from hub_tools.lintseq import extract_program, normalize_program

CODE = "def add(a, b):\n    return a + b"


@pytest.mark.parametrize("response", [
    "Here:\n```python\n" + CODE + "\n```\nDone.",
    "Here:\r\n```python\r\n" + CODE.replace("\n", "\r\n") + "\r\n```\r\nDone.\r\n",  # CRLF
    "Here:\r```python\r" + CODE.replace("\n", "\r") + "\r```\rDone.",  # old Mac line endings
    "Here:\n```\n" + CODE + "\n```\nDone.",  # bare fence
    "Here:\r\n```\r\n" + CODE.replace("\n", "\r\n") + "\r\n```\r\n",  # bare fence, CRLF
    "~~~python\n" + CODE + "\n~~~",
    "~~~~\n" + CODE + "\n~~~~~~",  # a closing fence may be longer
    "```Python\n" + CODE + "\n```",
    "```PY3 title=add.py\n" + CODE + "\n```",
    "```{.python}\n" + CODE + "\n```",
    "```python   \n" + CODE + "\n```   ",  # trailing blanks on the fence lines
    "Steps:\n1. Write it:\n   ```python\n   def add(a, b):\n       return a + b\n   ```\n2. Test it.",  # in a list
    "Steps:\n\t```python\n\tdef add(a, b):\n\t    return a + b\n\t```",  # indented with a tab
    "```python\n" + CODE,  # unclosed: runs to the end
    "Explain.\n```python\n" + CODE + "\n```\nOutput:\n```text\n3\n```",  # other languages are not code
    "```\nnot chosen = 1\n```\n```python\n" + CODE + "\n```",  # a tagged block wins over a bare one
    "```bash\npip install add\n```\n```\n" + CODE + "\n```",  # no tagged block: the bare one
])
def test_fence_spellings(response):
    assert normalize_program(extract_program(response)) == CODE


def test_several_python_blocks_are_joined_in_order():
    response = "First:\n```python\nx = 1\n```\nThen:\n~~~py\nprint(x)\n~~~\nAnd a shell line:\n```sh\nls\n```"
    assert extract_program(response) == "x = 1\nprint(x)"


def test_what_is_not_a_fence():
    assert extract_program("Use ```add(1, 2)``` to add.") == "Use ```add(1, 2)``` to add."  # inline code
    assert extract_program(CODE) == CODE  # no fence: the response is the program
    only_other = "```bash\nls\n```"
    assert extract_program(only_other) == only_other  # no Python and no bare block: left as it is
    # A block ends only at a line of fence characters: backticks inside the code stay code.
    response = '```python\ns = "```"\nt = s * 2\n```'
    assert extract_program(response) == 's = "```"\nt = s * 2'
    # A longer fence holds shorter ones.
    assert extract_program("````python\nx = '''\n```\n'''\n````") == "x = '''\n```\n'''"


def test_real_programs_in_every_wrapping(humaneval_corpus, stdlib_corpus):
    for program in humaneval_corpus[:40] + stdlib_corpus[:40]:
        expected = normalize_program(program)
        crlf = program.replace("\n", "\r\n")
        indented = "\n".join("   " + line if line else line for line in program.split("\n"))
        for response in (f"Solution:\r\n```python\r\n{crlf}\r\n```\r\n", f"```\n{program}\n```\nThat is all.",
                         f"~~~Python\n{program}\n~~~", f"1. The code:\n   ```py\n{indented}\n   ```\n"):
            assert normalize_program(extract_program(response)) == expected


@pytest.mark.parametrize("module", ["datasets.combine", "huggingface_hub._revision"])
def test_a_module_whose_docstrings_quote_markdown_is_the_program_as_it_is(module):
    # Library code shows ```python examples in its docstrings: read as fences, the module became the
    # example in its docstring (or a broken program).
    import importlib.util
    from pathlib import Path

    text = Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8")
    assert "```python" in text
    assert extract_program(text) == text
    assert extract_program(text.replace("\n", "\r\n")) == text.replace("\n", "\r\n")
    # As the answer of a chat model, fenced, the fence is still read.
    assert normalize_program(extract_program(f"Here it is:\n````python\n{text}\n````\n")) == normalize_program(text)


def test_a_byte_order_mark_is_not_part_of_the_program():
    # Python drops it from a file it reads; in a string it is an invalid character on line 1.
    assert normalize_program("\ufeff" + CODE + "\r\n") == CODE
    assert normalize_program(extract_program("\ufeff" + 'def f():\n    """```python\n    f()\n    ```"""')) == \
        'def f():\n    """```python\n    f()\n    ```"""'
