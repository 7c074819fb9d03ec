"""The standard library, and only it, as the ``portable`` profile lets inference see it.

``portable`` promises results that do not depend on what is installed (:mod:`hub_tools.linters.profiles`):
inference may import a module only when its name is a standard-library name. The name is not enough, for
astroid finds a module where Python's import system would, and three things put something else there:

- setuptools' ``distutils-precedence.pth`` hook, in most virtual environments, answers ``import distutils``
  with setuptools' own copy (``setuptools/_distutils``, which lacks some of the standard library's modules),
  which astroid follows on purpose. With it,
  ``from distutils.log import _global_log; _global_log.good`` was clean under one setuptools and an E1101
  under another or with ``SETUPTOOLS_USE_DISTUTILS=stdlib``, and the paths of such a file changed with it;
- a folder on ``PYTHONPATH`` holding ``types.py`` or ``logging/``, which comes before the standard library;
- the current folder, first on the path in ``python -c`` and in a notebook.

So for ``portable`` a standard-library name is resolved in the standard library's own folders (the
interpreter's ``stdlib`` and ``platstdlib``, ``lib-dynload`` and the zipped library, never a ``site-packages``)
whenever astroid's answer lies elsewhere; a name found nowhere there cannot be imported (as a third-party
name cannot). :func:`resolved_in_the_standard_library` wraps astroid's resolver for the length of a call.

astroid caches the modules it builds by name, for every profile. A process that lints under both profiles
therefore drops, when it changes to the other, the modules whose two answers differ
(:func:`drop_the_other_profiles_modules`), so neither sees a tree the other built.
"""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig

_SITE_NAMES = ("site-packages", "dist-packages")


@functools.cache
def _library_folders() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The standard library's folders, and the folders of installed packages, as real paths."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix, "installed_base": sys.base_prefix}
    stdlib = {sysconfig.get_path(name, vars=base) for name in ("stdlib", "platstdlib")}
    installed = {sysconfig.get_path(name, vars=base) for name in ("purelib", "platlib")}
    installed |= {sysconfig.get_path(name) for name in ("purelib", "platlib")}
    installed |= set(site.getsitepackages()) if hasattr(site, "getsitepackages") else set()
    installed.add(site.getusersitepackages())
    return (tuple(os.path.realpath(folder) for folder in stdlib if folder),
            tuple(os.path.realpath(folder) for folder in installed if folder))


def _within(path: str, folders: tuple[str, ...]) -> bool:
    return any(path == folder or path.startswith(folder + os.sep) for folder in folders)


def _installed_packages(path: str) -> bool:
    """Whether a real path lies in a folder of installed packages."""
    return _within(path, _library_folders()[1]) or any(name in path.split(os.sep) for name in _SITE_NAMES)


def _standard_name(module_name: str) -> bool:
    top = module_name.split(".")[0]
    return top in sys.stdlib_module_names or top in _names_in_the_standard_library_folders()


@functools.cache
def _names_in_the_standard_library_folders() -> frozenset[str]:
    """Top-level modules the standard library's own folders hold that ``sys.stdlib_module_names`` leaves out:
    its ``test`` package (``from test import support``), ``_testcapi``, ``xxlimited``... A pylint command line
    finds them there, as the interpreter does; left out, a state of a stdlib test module was clean here and an
    E1101 for the command line. (A distribution that ships the test suite apart has none of them.)"""
    from importlib.machinery import EXTENSION_SUFFIXES

    names = set()
    for folder in {*_library_folders()[0], *(os.path.join(folder, "lib-dynload") for folder in _library_folders()[0])}:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                names.add(name)
            elif name.endswith(".py"):
                names.add(name[:-3])
            elif name.endswith(tuple(EXTENSION_SUFFIXES)):
                names.add(name.split(".")[0])
    return frozenset(name for name in names if name.isidentifier() and name not in _SITE_NAMES)


class StandardLibraryOnly(set):
    """An astroid module deny-list that refuses every module outside the standard library's names."""

    def __contains__(self, module_name: object) -> bool:
        if not isinstance(module_name, str):
            return False
        return not _standard_name(module_name) or super().__contains__(module_name)


@functools.lru_cache(maxsize=4096)
def in_the_standard_library(location: str) -> bool:
    """Whether a module file (or folder) is part of the standard library: inside its folders or its zip,
    outside every folder of installed packages."""
    path = os.path.realpath(location)
    if _installed_packages(path):
        return False
    return _within(path, _library_folders()[0]) or _within(path, tuple(entry for entry in _search_path() if entry.endswith(".zip")))


@functools.cache
def _search_path() -> tuple[str, ...]:
    """The entries of ``sys.path`` (as the interpreter started) that hold the standard library."""
    stdlib = _library_folders()[0]
    entries = []
    for entry in sys.path:
        if not entry:
            continue
        path = os.path.realpath(entry)
        if _installed_packages(path):
            continue
        if _within(path, stdlib) or (path.endswith(".zip") and _within(os.path.dirname(path), stdlib)):
            entries.append(path)
    return tuple(entries)


def standard_library_spec(modname: str):
    """astroid's spec of ``modname`` found in the standard library's own folders, or ``None``.

    Found with :class:`importlib.machinery.PathFinder` one part at a time, which reads folders and imports
    nothing (no import hook is consulted).
    """
    import importlib.machinery

    from astroid.interpreter._import.spec import ModuleSpec, ModuleType

    parts = modname.split(".")
    path: list[str] | None = list(_search_path())
    found = None
    for depth in range(1, len(parts) + 1):
        if not path:
            return None
        found = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth]), path)
        if found is None or found.origin is None or not in_the_standard_library(found.origin):
            return None  # not there, or a namespace package (the standard library has none)
        path = found.submodule_search_locations
    if found.origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        kind = ModuleType.C_EXTENSION
    elif found.origin.endswith(tuple(importlib.machinery.SOURCE_SUFFIXES)):
        kind = ModuleType.PY_SOURCE
    else:
        return None  # bytecode alone: astroid would need the source
    locations = found.submodule_search_locations
    return ModuleSpec(name=modname, type=kind, location=found.origin,
                      submodule_search_locations=list(locations) if locations is not None else None)


def resolved_in_the_standard_library(resolve):
    """Wrap astroid's ``AstroidManager.file_from_module_name``: a standard-library name astroid finds
    outside the standard library, or does not find, is found in it instead, or cannot be imported.

    Not found by astroid: under setuptools' hook ``distutils`` is setuptools' copy, which lacks modules the
    standard library's has (``distutils.tests``, ``distutils.msvc9compiler``): astroid looks for them in the
    copy and fails, where the command line finds them (a state reading ``support.bogus`` from
    ``distutils.tests`` was clean here and an E1101 there)."""
    from astroid.exceptions import AstroidBuildingError, AstroidImportError

    @functools.wraps(resolve)
    def standard_library_first(manager, modname, contextfile, *args, **kwargs):
        try:
            found = resolve(manager, modname, contextfile, *args, **kwargs)
        except AstroidBuildingError:
            spec = standard_library_spec(modname) if _standard_name(modname) else None
            if spec is None:
                raise
            _REDIRECTED.add(modname)
            return spec
        if found.location is None or in_the_standard_library(found.location):
            return found  # a built-in or frozen module, or the library's own file
        if not _standard_name(modname):
            return found  # the checked program's own module (the deny-list refuses every other name)
        _REDIRECTED.add(modname)
        spec = standard_library_spec(modname)
        if spec is None:
            raise AstroidImportError(f"{modname!r} is not in the standard library's own folders")
        return spec

    return standard_library_first


# Names whose module the portable profile found somewhere other than astroid did, and the profile of the
# last call that could have built modules (see drop_the_other_profiles_modules).
_REDIRECTED: set[str] = set()
_LAST_PROFILE: list[bool | None] = [None]


def drop_the_other_profiles_modules(cache: dict, portable: bool) -> None:
    """Before a call, drop from astroid's module ``cache`` what a call under the other profile built
    differently: for ``portable``, standard-library names built from outside the standard library; for
    the other, the names ``portable`` found elsewhere than astroid."""
    if _LAST_PROFILE[0] is portable:
        return
    if _LAST_PROFILE[0] is not None:
        for name in list(cache):
            module = cache[name]
            if portable:
                foreign = _standard_name(name) and getattr(module, "file", None) \
                    and not in_the_standard_library(module.file)
            else:
                foreign = name in _REDIRECTED
            if foreign:
                del cache[name]
    _LAST_PROFILE[0] = portable
