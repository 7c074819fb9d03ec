"""Errors that the command line reports as one line, without a traceback."""


class UserError(Exception):
    """A problem with what the user asked for: a missing file, an unknown field, a bad option.

    The command line prints ``lintseq <command>: error: <message>`` and exits with code 2. The message
    must say what is wrong and, where it can, what to do instead.
    """
