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


def test_the_test_s_work_on_an_answer_is_not_charged_to_the_other_programs():
    """HumanEval tests quote the answer in their assertion's message (``str(candidate(...))``): formatting a
    16 MB answer held the interpreter's lock for seconds, and 14 of 20 correct programs beside such answers
    timed out. From an answer's arrival until the evaluator sends again (or the test ends), its time is
    credited to the other programs' clocks, and counted against the program that answered."""
    import os
    import struct
    import time

    from hub_tools.evaluation.sandbox.checks import Channel

    pipes = [os.pipe() for _ in range(4)]
    try:
        busy = Channel(pipes[0][1], pipes[1][0], time.monotonic() + 10, most_credit=4.0)
        waiting = Channel(pipes[2][1], pipes[3][0], time.monotonic() + 10, most_credit=4.0)
        body = encode_value(["value", 1]).encode()
        os.write(pipes[1][1], struct.pack(">I", len(body)) + body)
        assert busy.receive() == ["value", 1]
        before = waiting._remaining()
        time.sleep(0.5)  # the test works on the answer
        credited = waiting._remaining() - before + 0.5
        assert 0.45 <= credited <= 0.6, credited
        busy.settle()  # the test ended: nothing more is credited
        settled = waiting._remaining()
        time.sleep(0.2)
        assert 0.15 <= settled - waiting._remaining() <= 0.3
        # The program that answered is charged its own answer's time: its deadline did not move.
        assert busy._remaining() < 9.5  # 9.3 s or less: credited with its own half second, 9.8
    finally:
        for read, write in pipes:
            os.close(read)
            os.close(write)


# The flood of a hostile model's samples: each answers a quarter of a million floats, which its test quotes in the
# assertion's message (as HumanEval/117's does), so that every such sample keeps the evaluator busy for a second or
# more. Beside three of them at a time, the correct programs answer about a hundred calls each, each call 15 ms
# of CPU.
FLOOD = Job("X = [1.2345678901234567e-300] * 250_000\ndef add(a, b):\n    return X",
            split_test("", "for a in range(3):\n    assert add(a, 1) == a + 1, 'wrong: ' + str(add(a, 1))", "add")[0])
BUSY_ADD = Job("import time\ndef add(a, b):\n    start = time.process_time()\n"
               "    while time.process_time() - start < 0.015:\n        pass\n    return a + b",
               split_test("", "for a in range(100):\n    assert add(a, 1) == a + 1", "add")[0])
# Four seconds of CPU in all: over the time limit (3 s), under the kernel's limit on CPU time (5 s).
TOO_SLOW_ADD = Job(BUSY_ADD.program.replace("0.015", "0.04"), BUSY_ADD.test)


def test_a_flood_of_costly_answers_times_out_no_correct_program_beside_it():
    """Three workers of four kept the evaluator busy with costly answers: the time credited to a correct program
    beside them was capped a second short of the template's backup deadline (the time limit and 5 s), and 6 of
    20 timed out. The template now moves that deadline as the evaluator credits the program (up to ten time
    limits), and a program given credit is still timed out past its time limit in CPU time."""
    jobs = [FLOOD] * 3 + [BUSY_ADD] + [FLOOD] * 3 + [BUSY_ADD] + [FLOOD] * 3 + [TOO_SLOW_ADD] + [FLOOD] * 6
    with Sandbox(SandboxConfig(timeout=3.0, memory_limit_mb=512, workers=4)) as pool:
        results = pool.run(jobs, progress=False)
    outcomes = {job_index: (result.status, result.reason, round(result.duration, 1))
                for job_index, (job, result) in enumerate(zip(jobs, results, strict=True)) if job is not FLOOD}
    assert [outcome[0] for outcome in outcomes.values()] == ["passed", "passed", "timed_out"], outcomes
    # A flooding program's own answers are read on its own clock: on a slow or loaded machine three of them can
    # pass its limit (timed out), else its wrong answer fails it; it never passes.
    flood = [result.status for job, result in zip(jobs, results, strict=True) if job is FLOOD]
    assert set(flood) <= {"failed", "timed_out"} and "failed" in flood, flood
