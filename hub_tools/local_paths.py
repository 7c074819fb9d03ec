"""Whether a name given for a model or a dataset can only mean a local path, not a Hub repository id.

A Hub id is ``name`` or ``owner/name``; a path that is not there must fail at once, naming it, rather than be
looked up on the Hub, where it fails after a minute of retries with a message about repository ids.
"""

from __future__ import annotations

from pathlib import Path


def meant_as_local_path(name: str, *, folder_here_counts: bool = True) -> bool:
    """Whether ``name`` can only mean a local path: it starts with ``.``, ``/`` or ``~``, has more than one
    ``/`` or a backslash, or (``folder_here_counts``) its first component is a folder here
    (``outputs/tiny-lintseq``, where ``outputs/`` is what training writes). Benchmark data does not count the
    last rule: a clone of a benchmark's repository here (``evalplus/``) must not hide its Hub dataset
    (``evalplus/mbppplus``).

    >>> meant_as_local_path("./model"), meant_as_local_path("org/model"), meant_as_local_path("a/b/c")
    (True, False, True)
    """
    first = Path(name.split("/", 1)[0]).expanduser()
    return (name.startswith((".", "/", "~")) or Path(name).is_absolute() or name.count("/") > 1 or "\\" in name
            or (folder_here_counts and "/" in name and first.is_dir()))
