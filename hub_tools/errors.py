"""Errors that the command line reports as one line, without a traceback."""


# What json.loads raises on a text it cannot read: a ValueError (not JSON, bytes that are not UTF-8, a number of
# more digits than Python reads) or a RecursionError (nesting past the decoder's limit).
UNREADABLE_JSON = (ValueError, RecursionError)


class UserError(Exception):
    """A problem with what the user asked for: a missing file, an unknown field, a bad option.

    The command line prints ``lintseq <command>: error: <message>`` and exits with code 2. The message
    must say what is wrong and, where it can, what to do instead.
    """


def one_line(error: BaseException, limit: int | None = 300) -> str:
    """``error``'s message on one line (a library's may span many), cut at ``limit`` characters.

    >>> one_line(ValueError("bad\\n  footer"))
    'bad footer'
    """
    return " ".join(str(error).split())[:limit]


def reason(error: BaseException) -> str:
    """Python's message for ``error`` without the advice to programmers that may follow a ``;`` (a number past
    the 4,300 digits Python reads: "... value has 5000 digits; use sys.set_int_max_str_digits() ...").

    >>> reason(ValueError("Exceeds the limit (4300 digits); use sys.set_int_max_str_digits()"))
    'Exceeds the limit (4300 digits)'
    """
    return str(error).split(";")[0]
