"""Answers the evaluator spends long reading: refused before the parse where the protocol rules them out, and
never charged to the other programs whose answers wait meanwhile."""

import pytest

from hub_tools.evaluation import Sandbox, SandboxConfig
from hub_tools.evaluation.sandbox import Job
from hub_tools.evaluation.sandbox.checks import split_test
from hub_tools.evaluation.sandbox.values import decode_value, encode_value

# A hundred calls of 10 ms each: always a program in flight while a costly answer is read.
SLOW_ADD = Job("import time\ndef add(a, b):\n    time.sleep(0.01)\n    return a + b",
               split_test("", "for a in range(100):\n    assert add(a, 1) == a + 1", "add")[0])
# Plain data within every limit (a million values, 16 MB): 15 MB of long floats, about a second of the
# evaluator's time inside json.loads, which holds the interpreter's lock. Written straight to its answer pipe
# from bytes made once (with the answer of each call after it), so that every call costs the evaluator that
# second and the program's own time almost nothing.
LONG_FLOATS = ("import posix, struct\nBODY = b'[\"value\",[' + b'1.2345678901234e-300,' * 759_999 + b'1.5]]'\n"
               "FRAME = struct.pack('>I', len(BODY)) + BODY\ndef add(a, b):\n    for fd in range(3, 64):\n"
               "        try:\n            posix.write(fd, FRAME)\n        except OSError:\n            pass\n"
               "    return a + b")
CALLED_OFTEN = split_test("", "for a in range(8):\n    add(a, 1)", "add")[0]

def test_a_costly_answer_within_the_limits_is_not_charged_to_the_other_programs():
    """Each of its answers held every other worker's thread for about a second: the programs answering then
    were charged that second, and correct ones timed out. Their clocks now leave out the time the evaluator
    spent reading other programs' answers (its own answers still count against the costly program)."""
    with Sandbox(SandboxConfig(timeout=3.0, memory_limit_mb=512, workers=4)) as pool:
        results = pool.run([Job(LONG_FLOATS, CALLED_OFTEN), *[SLOW_ADD] * 11], progress=False)
    assert [result.status for result in results[1:]] == ["passed"] * 11, [result.reason for result in results[1:]]
    assert results[0].status == "timed_out", results[0]  # its own answers' reading is its own time


def test_object_keys_the_protocol_never_writes_are_refused_before_the_parse():
    # Every object of the protocol is a tagged value, {"t": ..., "v": ...}: two keys. 524,000 keys in one object
    # passed the counts of containers and values and held the evaluator for most of a second inside json.loads.
    text = '["value",{' + ",".join(f'"{number}":0' for number in range(524_000)) + "}]"
    with pytest.raises(ValueError, match="more object keys than tagged values have"):
        decode_value(text)
    # Colons inside strings are text, and tagged values still read.
    value = [":" * 200_000, {"k": (1, 2)}, {"t": "v"}] * 2
    assert decode_value(encode_value(["value", value])) == ["value", value]
