"""The plan of a run, made on the trusted side before the notebook runs: which cells need
not run (a data-flow reading of the cells, magics included, so that only what the graded
functions and their tests read is run), which imports of the course's own cells are
needed, and which course names the learner defined again for themselves (no stand-in
replaces those while their exercise is graded).
"""
from __future__ import annotations

import ast
import functools
import logging

import nbformat
from nbgrader import utils

from autograde import course
from autograde.nbgrader_glue.sanitize import defined

log = logging.getLogger("autograde")

class _Flow:
    """Which names one cell binds at top level, which it reads and does not bind itself
    (``free``; a cell that reads a name before rebinding it is taken to mean its own),
    and which its function bodies read (at call time, from any cell)."""

    def __init__(self, tree: ast.Module):
        self.binds: set[str] = set()
        self.free: set[str] = set()
        self.late: set[str] = set()
        for stmt in tree.body:
            reads, late = set(), set()
            _collect(stmt, reads, late)
            self.free |= reads - self.binds
            self.late |= late
            self.binds |= _bound_by(stmt)
        self.free -= self.binds


def _bound_by(stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return {n.id for n in _walk_scope(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}


def _walk_scope(node):
    """ast.walk, without going into nested functions, lambdas, classes and comprehensions
    (their names are their own)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        todo.extend(c for c in ast.iter_child_nodes(n) if not isinstance(c, _SCOPES))


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def _collect(node, reads: set, late: set) -> None:
    """Names read by ``node``: at once (``reads``) or inside a function body (``late``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        for d in getattr(node, "decorator_list", []) + list(node.args.defaults) + list(node.args.kw_defaults):
            if d is not None:
                _collect(d, reads, late)
        late |= _globals_read(node)
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        reads.add(node.id)
    for child in ast.iter_child_nodes(node):
        _collect(child, reads, late)


def _globals_read(fn) -> set[str]:
    """Names a function (or lambda) body reads from the global namespace: every name it
    mentions but its parameters and local variables (unless declared global); nested
    functions the same way."""
    args = fn.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    nested = [n for st in body for n in ast.walk(st) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    inside = {id(x) for n in nested for x in ast.walk(n) if x is not n}
    names = [n for st in body for n in ast.walk(st) if isinstance(n, ast.Name) and id(n) not in inside]
    declared = {name for st in body for n in ast.walk(st) if isinstance(n, ast.Global) for name in n.names}
    stored = {n.id for n in names if isinstance(n.ctx, ast.Store)} | {n.name for n in nested if hasattr(n, "name")}
    inner = set().union(*(_globals_read(n) for n in nested)) if nested else set()
    return (({n.id for n in names} | inner) - params - stored) | declared


@functools.lru_cache(maxsize=4096)  # a chapter's cells are the same in every submission
def _flow(source: str) -> _Flow | None:
    """The data flow of a cell, or None if it is not Python even after IPython's
    transforms, or runs a magic or shell command that may read anything."""
    tree = python_of(source)
    return None if tree is None else _Flow(tree)


def python_of(source: str) -> ast.Module | None:
    """The Python a cell runs, as IPython runs it: its magics and shell escapes
    transformed by IPython's own ``TransformerManager``, and the code inside the magics
    that run Python (``%time``, ``%timeit``, ``%%time``, ``%%timeit``, ``%%capture``)
    read as code; ``%matplotlib`` reads nothing. None if the cell is not Python, or uses
    any other magic or a shell escape (``!cmd``, ``%cd``, ``%%bash``): those may read
    or bind any name, so nothing can be said about it."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
        return ast.fix_missing_locations(_Magics().visit(tree))
    except Exception:  # noqa: BLE001 - not Python, or a magic whose code cannot be read
        return None


class _NotReadable(Exception):
    """A magic or shell escape whose effect on names cannot be read."""


class _Magics(ast.NodeTransformer):
    """Replaces IPython's magic calls (``get_ipython().run_line_magic(...)``) by the
    Python they run, or raises _NotReadable."""

    def visit_Expr(self, node):
        magic = _magic_call(node.value)
        if magic is None:
            return self.generic_visit(node)
        kind, name, line, body = magic
        if kind == "run_cell_magic" and name in ("time", "capture"):
            if name == "time" and line.strip():
                raise _NotReadable(line)  # IPython refuses it too
            stmts = _parse(body).body
            if name == "capture":  # %%capture [--no-stderr ...] [name]: binds the name given
                from IPython.core import magic_arguments
                from IPython.core.magics.execution import ExecutionMagics

                out = magic_arguments.parse_argstring(ExecutionMagics.capture, line).output
                if out:
                    stmts = stmts + [ast.Assign(targets=[ast.Name(out, ast.Store())], value=ast.Constant(None))]
            return stmts or ast.Pass()
        if kind == "run_cell_magic" and name == "timeit":  # runs in its own scope: reads only
            return _scoped(_parse(_timeit_statement(line)).body + _parse(body).body)
        if kind == "run_line_magic" and name == "time":
            return _parse(line).body or ast.Pass()
        if kind == "run_line_magic" and name == "timeit":
            return _scoped(_parse(_timeit_statement(line)).body)
        if kind == "run_line_magic" and name == "matplotlib":
            return ast.Pass()
        raise _NotReadable(name)

    def visit_Call(self, node):
        magic = _magic_call(node)
        if magic is None:
            return self.generic_visit(node)
        kind, name, line, _ = magic
        if kind == "run_line_magic" and name == "time":  # x = %time f(y)
            return ast.parse(line.strip(), mode="eval").body
        if kind == "run_line_magic" and name == "timeit":  # t = %timeit -o f(y)
            return ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
                              body=ast.parse(_timeit_statement(line).strip(), mode="eval").body)
        raise _NotReadable(name)


def _magic_call(node):
    """(kind, magic name, line, cell body) of a ``get_ipython().<kind>(...)`` call that
    IPython's transforms made, or None for any other expression."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython"):
        return None
    kind = node.func.attr
    if kind in ("system", "getoutput"):
        raise _NotReadable(kind)  # a shell escape: its command may expand any Python name
    if kind not in ("run_line_magic", "run_cell_magic"):
        return None
    texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if len(texts) != len(node.args) or len(texts) < 2:
        raise _NotReadable(kind)
    return kind, texts[0], texts[1], texts[2] if len(texts) > 2 else ""


def _parse(source: str) -> ast.Module:
    """A magic's code, itself transformed as IPython would and read the same way."""
    tree = python_of(source)
    if tree is None:
        raise _NotReadable(source[:40])
    return tree


def _timeit_statement(line: str) -> str:
    """The statement of a ``%timeit`` line (its setup code, for ``%%timeit``), without
    its options, parsed as IPython's timeit parses them."""
    import types

    from IPython.core.magic import Magics

    _, stmt = Magics.parse_options(types.SimpleNamespace(options_table={}), line, "n:r:tcp:qo", posix=False,
                                   strict=False, preserve_non_opts=True)
    return stmt


def _scoped(body: list) -> ast.FunctionDef:
    """Code that runs in a scope of its own (``%timeit``): read as a function body."""
    return ast.FunctionDef(name="_timeit_", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                               defaults=[]),
                           body=body or [ast.Pass()], decorator_list=[], returns=None)


@functools.lru_cache(maxsize=32)
def _course_sources(path: str) -> frozenset[str]:
    """Sources of the released notebook's own code cells that are no part of an exercise
    (figures, demonstrations, worked examples)."""
    released = nbformat.read(path, as_version=4)
    return frozenset(c.source for c in released.cells if c.cell_type == "code" and "nbgrader" not in c.metadata)


def own_definitions(sources: list[str], released, before: str | None = None) -> frozenset[str]:
    """The course's function names that the learner defined again for themselves: their
    own helper named like a course function or an exercise. In Jupyter the learner's
    code then calls their own definition, so no stand-in may take its place while
    another exercise is graded.

    ``sources``: the code cells the learner's notebook has run, in order, when the grade
    cell ``before`` is reached (None: all of them); ``released``: the released notebook.
    A name defined with ``def`` in the release is the learner's own if
    more of their cells bind it at top level than the release has (a second definition
    beside an exercise's answer), or if a cell binding it is none of the release's
    cells as released while the release binds it only in cells that are not exercises
    (a course function changed or written anew)."""
    code = [c for c in released.cells if c.cell_type == "code"]
    names = set().union(*(defined(c.source) for c in code))
    grade_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in code]
    if before in grade_ids:
        code = code[:grade_ids.index(before)]
    course_cells = {c.source.strip() for c in code if "nbgrader" not in c.metadata}
    exercises = set().union(*(defined(c.source) for c in code if "nbgrader" in c.metadata))

    def binders(cells: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {name: [] for name in names}
        for source in cells:
            flow = _flow(source)
            for name in (flow.binds & names) if flow is not None else ():
                out[name].append(source.strip())
        return out

    released_binders, learner_binders = binders([c.source for c in code]), binders(sources)
    return frozenset(name for name, cells in learner_binders.items()
                     if len(cells) > len(released_binders[name])
                     or (name not in exercises and any(c not in course_cells for c in cells)))


def own_before_each_test(nb, released) -> dict[str, list[str]]:
    """For each grade cell of ``nb`` (by grade id): ``own_definitions`` of the code cells
    before it, the names that keep the learner's definition while its exercise is graded."""
    own: dict[str, list[str]] = {}
    for i, cell in enumerate(nb.cells):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id") if utils.is_grade(cell) else None
        if gid is not None and gid not in own:
            sources = [c.source for c in nb.cells[:i] if c.cell_type == "code"]
            own[gid] = sorted(own_definitions(sources, released, before=gid))
    return own


def plan_run(nb, chapter: course.Chapter, released_path) -> tuple[list[int], dict[int, str]]:
    """What need not run to grade ``nb``: (indices of cells to skip, {index: the import
    statements to run instead of a whole import cell}).

    Only the chapter's own code cells (figures, demonstrations, imports), exactly as
    released, are candidates; the learner's cells, the exercises and their tests always
    run, with whatever they need. A candidate is skipped if no cell that runs reads a
    name from it (a top-level read of a name its own cell does not bind, with this cell
    the last to bind it before; or any read in a function body); of an import cell that
    runs, only the imports something reads are run. No verdict can depend on what is
    left out: the checks call the learner's functions, and those run only code of cells
    that run."""
    course_cells = _course_sources(str(released_path))
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    flows = {i: _flow(nb.cells[i].source) for i in code}
    if any(f is None for f in flows.values()):
        return [], {}  # a cell that is not Python may read anything
    skip = {i for i in code if nb.cells[i].source in course_cells and "nbgrader" not in nb.cells[i].metadata}
    while True:  # ends with ``wanted`` of the final ``skip``
        wanted = _wanted(code, flows, skip)
        needed = {i for i in skip if wanted[i]}
        if not needed:
            break
        skip -= needed
    rewrite = {}
    for i in code:
        if i in skip or nb.cells[i].source not in course_cells:
            continue
        tree = ast.parse(nb.cells[i].source)
        if tree.body and all(isinstance(st, (ast.Import, ast.ImportFrom)) for st in tree.body):
            kept = [st for st in tree.body if _bound_by(st) & wanted[i]]
            if len(kept) < len(tree.body):
                rewrite[i] = "\n".join(ast.get_source_segment(nb.cells[i].source, st) for st in kept)
    return sorted(skip), rewrite


def _wanted(code: list[int], flows: dict, skip: set[int]) -> dict[int, set[str]]:
    """For every cell, the names it binds that a cell which runs reads from it."""
    wanted: dict[int, set[str]] = {i: set() for i in code}
    late = set().union(*(flows[j].late for j in code if j not in skip))
    for j in code:
        if j in skip:
            continue
        for name in flows[j].free:  # read at once: from the last cell before j that binds it
            binder = next((i for i in reversed(code) if i < j and name in flows[i].binds), None)
            if binder is not None:
                wanted[binder].add(name)
    for i in code:
        wanted[i] |= flows[i].binds & late
    return wanted
