"""Wrong programs that steered the evaluator into believing them: each must fail, judged by the evaluator.

A test that cannot send an argument to the program (a function, an object of the test's making) runs whole
inside the sandbox, where the program reports its own verdict. An answer the evaluator had decoded but could
not send back let a program choose that for itself, in any test that passes an answer back (``f(f(x))``), and
then pass by answering an object whose ``__eq__`` always says yes. A ``StopIteration`` re-raised in the
evaluator ended a test's ``map`` or ``zip`` as if it had run out, so the assertions in it never ran.
"""

from hub_tools.evaluation.sandbox import Job
from hub_tools.evaluation.sandbox.checks import split_test

# Judged honestly on the first call; on the inner call of the second, an answer meant to be unsendable.
_STEER = """
import collections
class Yes:
    def __eq__(self, other):
        return True
calls = [0]
def rev(x):
    calls[0] += 1
    if type(x) is not list or calls[0] > 2:
        return Yes()   # in a test run whole inside the sandbox, this would be compared there, and pass
    if calls[0] == 1:
        return [3, 2, 1]
    return {answer}
"""
_DEEP = "[" * 199 + "0" + "]" * 199
STEERING_ANSWERS = {"deque": "collections.deque([0])", "iterator": "iter([5])", "list 199 levels deep": _DEEP,
                    "range": "range(1)", "dict keys": "{0: 0}.keys()"}
PASSING_BACK = "assert rev([1, 2, 3]) == [3, 2, 1]\nassert rev(rev([1, 2, 3])) == [1, 2, 3]"

STOP_ITERATION = {
    "all(map(...))": "assert all(map(lambda case: sq(case[0]) == case[1], [(2, 4), (3, 9)]))",
    "for ... in zip(map(...))": "for got, want in zip(map(sq, [2, 3]), [4, 9]):\n    assert got == want",
    "generator expression": "assert all(sq(x) == x * x for x in [2, 3])",
}


def test_an_answer_cannot_move_its_test_into_the_sandbox(sandbox):
    test = split_test("", PASSING_BACK, "rev")[0]
    programs = [_STEER.format(answer=answer) for answer in STEERING_ANSWERS.values()]
    correct = "def rev(x):\n    return list(reversed(list(x)))\n"
    # ``whole``: what runs inside the sandbox if the evaluator gives up on a call (as lintseq eval builds it).
    results = sandbox.run([Job(program, test, whole=f"{program}\n{PASSING_BACK}\n") for program in [*programs, correct]],
                          progress=False)
    by_name = dict(zip([*STEERING_ANSWERS, "correct"], results, strict=True))
    assert {name: (result.status, result.verdict) for name, result in by_name.items()} == {
        **{name: ("failed", "evaluator") for name in STEERING_ANSWERS}, "correct": ("passed", "evaluator")}, by_name
    assert "nested deeper than 200 levels" in by_name["list 199 levels deep"].reason


def test_a_stop_iteration_from_the_program_never_ends_a_tests_loop(sandbox):
    jobs, names = [], []
    for name, test in STOP_ITERATION.items():
        for kind, program in (("raises", "def sq(x):\n    raise StopIteration\n"),
                              ("raises a subclass", "class Done(StopIteration):\n    pass\n"
                                                    "def sq(x):\n    raise Done()\n"),
                              ("correct", "def sq(x):\n    return x * x\n")):
            jobs.append(Job(program, split_test("", test, "sq")[0]))
            names.append((name, kind))
    results = sandbox.run(jobs, progress=False)
    statuses = {name: result.status for name, result in zip(names, results, strict=True)}
    assert statuses == {name: "passed" if name[1] == "correct" else "failed" for name in names}, results
    assert all("StopIteration" in result.reason or "Done" in result.reason
               for name, result in zip(names, results, strict=True) if name[1] != "correct"), results
