"""Honest work earns its points (issue 14, part 2).

A correct notebook can be written and saved in many ways that plain Jupyter runs
without a complaint: an exercise that calls another by keyword or with an extra
optional parameter, the learner's own helper named like a course function, magics
and shell escapes, metadata stripped by an editor, large figures, Windows line ends,
cells run out of order before saving, a lot of printing. Each one must get full marks
and no warning.

The fast tests check each rule on its own (one per repair); ``TABLE`` lists the
variants, and the slow test runs each in plain Jupyter (top to bottom, every visible
test passes) and through the real grader (full marks, status ``graded``, no message,
no error in any cell where Jupyter had none).
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import json
import socket
import threading
from collections.abc import Callable

import nbformat
import numpy as np
import pytest
from nbgrader import utils

from autograde import course
from autograde.authoring import synthetic
from autograde.boundary import harness
from autograde.boundary.trusted import Channel, Window, loopback, parameters
from autograde.execution import plan
from autograde.intake import validate
from autograde.nbgrader_glue import sanitize

CH04 = course.by_assignment("ch04")
CH05 = course.by_assignment("ch05")


# ---------------------------------------------------------------- building variants
def cell_of(nb, grade_id: str):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def edit(nb, grade_id: str, old: str, new: str):
    """Replace ``old`` by ``new`` in the cell ``grade_id`` (which must hold it)."""
    cell = cell_of(nb, grade_id)
    assert old in cell.source, (grade_id, old)
    cell.source = cell.source.replace(old, new)
    return nb


def insert_after(nb, index: int, *sources: str):
    for k, source in enumerate(sources, start=1):
        nb.cells.insert(index + k, nbformat.v4.new_code_cell(source))
    return nb


def grade_cell_index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


CALL_CELL = "rnn_cell_forward(x[:, :, t], a_next, parameters, activation)"


def keyword_call(nb):
    """rnn_forward calls rnn_cell_forward with every argument by keyword."""
    return edit(nb, "rnn_forward", CALL_CELL,
                "rnn_cell_forward(xt=x[:, :, t], a_prev=a_next, parameters=parameters, activation=activation)")


def extra_optional(nb):
    """rnn_cell_forward has an extra optional parameter, which rnn_forward passes."""
    edit(nb, "rnn_cell_forward", 'activation="tanh"):', 'activation="tanh", check_shapes=True):')
    edit(nb, "rnn_cell_forward", '    Waa, Wax, Wya = ', '    if check_shapes:\n        assert xt.ndim == 2\n    Waa, Wax, Wya = ')
    return edit(nb, "rnn_forward", CALL_CELL, CALL_CELL.replace("activation)", "activation, check_shapes=True)"))


def renamed_keyword(nb):
    """softmax's parameter is renamed (logits), and rnn_cell_forward calls it by that name."""
    edit(nb, "softmax", "def softmax(z):", "def softmax(logits):\n    z = logits")
    return edit(nb, "rnn_cell_forward", "softmax(Wya @ a_next + by)", "softmax(logits=Wya @ a_next + by)")


OWN_SOFTMAX = '''def softmax(z, axis=0):
    """My own softmax along any axis (columns by default, as the chapter's)."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


'''


def own_helper(nb):
    """Chapter 5: the learner's own softmax (with an axis) beside the course's, used on rows."""
    cell = cell_of(nb, "rnn_cell_forward_compact")
    cell.source = OWN_SOFTMAX + cell.source
    return edit(nb, "rnn_cell_forward_compact", 'softmax(parameters["Wy"] @ a_next + parameters["by"])',
                'softmax((parameters["Wy"] @ a_next + parameters["by"]).T, axis=1).T')


def cell_magics(nb):
    """%%time on an exercise's cell, and a %%time cell of the learner's that reads what the
    chapter's figure cell made; %%capture that keeps what it caught."""
    cell_of(nb, "rnn_forward").source = "%%time\n" + cell_of(nb, "rnn_forward").source
    return insert_after(nb, len(nb.cells) - 1,
                        "%%time\n# the figure's random RNN again, on a batch of 64\n"
                        "a_batch, _, _ = rnn_forward(rng.standard_normal((n_x, 64, T_x)), np.zeros((n_a, 64)), params)",
                        "%%capture caught\nprint(a_batch.shape)",
                        "assert caught.stdout.strip() == '(5, 64, 30)', caught.stdout")


def line_magics(nb):
    """%time and %timeit lines beside ordinary code, and %matplotlib."""
    nb.cells.insert(1, nbformat.v4.new_code_cell("%matplotlib inline"))
    return insert_after(nb, len(nb.cells) - 1,
                        "%time a_long, _, _ = rnn_forward(rng.standard_normal((n_x, 1, 300)), np.zeros((n_a, 1)), params)\n"
                        "%timeit -n 3 -r 1 softmax(rng.standard_normal((n_y, 100)))\nprint(a_long.shape)")


def shell_escape(nb):
    """A shell command in a cell (and the Python name it expands)."""
    return insert_after(nb, grade_cell_index(nb, "test_softmax"), "label = 'softmax done'\n!echo {label}")


def stripped_metadata(nb):
    """An editor saved the notebook without any cell metadata."""
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def crlf(nb):
    """Windows line ends in every cell."""
    for cell in nb.cells:
        cell.source = cell.source.replace("\n", "\r\n")
    return nb


def large_figures(nb):
    """60 MB of figures saved in the notebook's outputs (more than any size rule)."""
    png = base64.b64encode(np.random.default_rng(0).bytes(15 * 2**20)).decode()
    cell = nb.cells[grade_cell_index(nb, "test_rnn_forward") + 2]  # the chapter's figure cell
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png}) for _ in range(3)]
    cell.execution_count = 9
    return nb


def out_of_order(nb):
    """Cells run out of order, then saved: execution counts and outputs say so."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    for k, cell in enumerate(code):
        cell.execution_count = len(code) - k
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"run {len(code) - k}\n")]
    return nb


def prints_a_lot(nb):
    """A cell that prints every hidden state of a long sequence (more than a cell's bound)."""
    return insert_after(nb, len(nb.cells) - 1,
                        "a_long, _, _ = rnn_forward(rng.standard_normal((n_x, 1, 4000)), np.zeros((n_a, 1)), params)\n"
                        "for t in range(4000):\n    print(t, a_long[:, 0, t])")


@dataclasses.dataclass
class Variant:
    name: str
    chapter: course.Chapter
    build: Callable
    jupyter: str
    """what plain Jupyter does with it"""


TABLE = [
    Variant("reference", CH04, lambda nb: nb, "runs; every visible test passes"),
    Variant("keyword_call", CH04, keyword_call, "runs; every visible test passes"),
    Variant("extra_optional", CH04, extra_optional, "runs; every visible test passes"),
    Variant("renamed_keyword", CH04, renamed_keyword, "runs; every visible test passes"),
    Variant("own_helper", CH05, own_helper, "runs; the learner's own softmax is the one called"),
    Variant("cell_magics", CH04, cell_magics, "runs; the %%time cells print their times"),
    Variant("line_magics", CH04, line_magics, "runs; %time and %timeit print their times"),
    Variant("shell_escape", CH04, shell_escape, "runs; the shell prints the label"),
    Variant("stripped_metadata", CH04, stripped_metadata, "runs (Jupyter needs no metadata)"),
    Variant("crlf", CH04, crlf, "runs; Python reads CRLF as LF"),
    Variant("large_figures", CH04, large_figures, "runs; the saved figures are replaced"),
    Variant("out_of_order", CH04, out_of_order, "Run all: runs top to bottom"),
    Variant("prints_a_lot", CH04, prints_a_lot, "runs; prints 4000 lines"),
]


def variant(v: Variant):
    return v.build(synthetic.submission(v.chapter, "reference"))


# ---------------------------------------------------------------- stand-ins bind like the learner's function
def _ns(code: str) -> dict:
    ns = {"np": np}
    exec(code, ns)
    return ns


def _solutions(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code" and utils.is_solution(c))


@pytest.mark.parametrize("build", [keyword_call, extra_optional, renamed_keyword],
                         ids=lambda f: f.__name__)
def test_an_exercise_calling_another_gets_its_points(build):
    """Does the check of an exercise that calls another pass, however the call is written
    (stand-ins answer for the other exercise)?"""
    from autograde.checks import ch04

    ns = _ns(_solutions(build(synthetic.submission(CH04, "reference"))))
    for name in ("softmax", "rnn_cell_forward", "rnn_forward"):
        with loopback(ns) as window:
            getattr(ch04, f"check_{name}")(window.learner(name))  # raises CheckFailed if not


def _ref(a, b=2, *, c=3):
    return a, b, c


REF = [["a", "POSITIONAL_OR_KEYWORD"], ["b", "POSITIONAL_OR_KEYWORD"], ["c", "KEYWORD_ONLY"]]


@pytest.mark.parametrize("own,args,kwargs,expected", [
    ("def f(a, b=2, *, c=3): pass", (1,), {"b": 5}, ((1, 5), {})),  # keyword for a positional parameter
    ("def f(x, y=2, *, c=3): pass", (), {"x": 1, "y": 4}, ((1, 4), {})),  # renamed, called by keyword
    ("def f(a, b=2, verbose=False, *, c=3): pass", (1, 2, True), {}, ((1, 2), {})),  # an extra optional, positional
    ("def f(a, b=2, *, c=3, debug=None): pass", (1,), {"debug": 1, "c": 7}, ((1,), {"c": 7})),  # extra keyword-only
    ("def f(a, *, c=3): pass", (1,), {"c": 4}, ((1,), {"c": 4})),  # a parameter left out: the reference's default
    ("def f(b, a): pass", (), {"a": 1, "b": 2}, ((1, 2), {})),  # same names, other order
    ("def f(a, **options): pass", (1,), {"b": 6, "z": 0}, ((1, 6), {})),  # **kwargs: the reference's names only
    ("def f(*args): pass", (1, 2), {"q": 3}, ((1, 2), {"q": 3})),  # *args: as called
    ("def f(a): pass", (1, 2, 3), {}, ((1, 2, 3), {})),  # does not fit the learner's own: as called
])
def test_a_stand_in_call_is_bound_to_the_learners_signature(own, args, kwargs, expected):
    ns = _ns(own)
    assert parameters(_ref) == REF
    assert harness.bind(ns["f"], REF, args, kwargs) == expected
    a, k = harness.bind(ns["f"], REF, args, kwargs)
    if "*args" not in own and "def f(a): " not in own:
        _ref(*a, **k)  # the reference takes it


def test_the_sandbox_gets_the_references_signature_as_plain_data():
    """The stand-in request carries parameter names and kinds, nothing callable."""
    ns = _ns("def outer(v):\n    return inner(value=v)\ndef inner(value):\n    return 'mine'")
    with loopback(ns) as window:
        window.stand_in(inner=lambda x: ("reference", x))
        assert window.learner("outer")(3) == ("reference", 3)
    assert ns["inner"](0) == "mine"


# ---------------------------------------------------------------- the learner's own definitions
def _released(*cells):
    nb = nbformat.v4.new_notebook()
    for source, gid in cells:
        cell = nbformat.v4.new_code_cell(source)
        if gid:
            cell.metadata["nbgrader"] = {"grade_id": gid, "solution": not gid.startswith("test_"),
                                         "grade": gid.startswith("test_"), "locked": gid.startswith("test_")}
        nb.cells.append(cell)
    return nb


RELEASED = _released(("def softmax(z):\n    return z", None), ("def forward(x):\n    raise NotImplementedError", "forward"),
                     ("forward(1)", "test_forward"), ("def later(x):\n    raise NotImplementedError", "later"),
                     ("later(1)", "test_later"))


@pytest.mark.parametrize("learner,own", [
    (["def softmax(z):\n    return z", "def forward(x):\n    return softmax(x)"], set()),  # as released
    (["def softmax(z):\n    return z", "def softmax(z, axis=0):\n    return z\n\ndef forward(x):\n    return softmax(x)"],
     {"softmax"}),  # a helper named like the course's
    (["def softmax(z):\n    return z + 0", "def forward(x):\n    return softmax(x)"], {"softmax"}),  # the course's changed
    (["def softmax(z):\n    return z", "def forward(x):\n    return x", "def forward(x):\n    return 2 * x"],
     {"forward"}),  # an exercise defined again
    (["def softmax(z):\n    return z", "def forward(x):\n    return x", "softmax = abs"], {"softmax"}),  # rebound
    (["%%bash\necho", "def softmax(z):\n    return z", "def forward(x):\n    return x"], set()),
])
def test_own_definitions_are_the_learners_second_or_changed_ones(learner, own):
    assert plan.own_definitions(learner, RELEASED, before="test_forward") == own


def test_own_definitions_count_only_what_ran_before_the_test():
    learner = ["def softmax(z):\n    return z", "def forward(x):\n    return x", "forward(1)",
               "def later(x):\n    return x", "def forward(x, y=0):\n    return x"]
    nb = _released(*((s, None) for s in learner))
    for cell, gid in zip(nb.cells, [None, "forward", "test_forward", "later", None]):
        if gid:
            cell.metadata["nbgrader"] = cell_of(RELEASED, gid).metadata["nbgrader"]
    nb.cells.append(copy.deepcopy(cell_of(RELEASED, "test_later")))
    assert plan.own_before_each_test(nb, RELEASED) == {"test_forward": [], "test_later": ["forward"]}


def test_no_stand_in_replaces_the_learners_own_definition():
    """A window told that ``inner`` is the learner's own leaves it in place."""
    ns = _ns("def outer(x):\n    return inner(x)\ndef inner(x):\n    return 'mine'")
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    window = Window(channel, budget=10, own=frozenset({"inner"}))
    server = threading.Thread(target=harness.serve, args=(ns, theirs), daemon=True)
    server.start()
    window.wait_ready()
    window.stand_in(inner=lambda x: "reference", other=lambda: 0)
    assert window.learner("outer")(1) == "mine"
    window.request({"op": "restore"})
    window.end()
    channel.close()
    theirs.close()
    server.join(timeout=5)


def test_own_helper_gets_its_points_in_the_check():
    """Chapter 5: graded with the learner's own softmax (as in Jupyter), the compact cell passes;
    with the course's softmax in its place it would not."""
    from autograde.checks import ch05

    nb = own_helper(synthetic.submission(CH05, "reference"))
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    release = nbformat.read(CH05.path, as_version=4)
    own = plan.own_before_each_test(nb, release)["test_rnn_cell_forward_compact"]
    assert own == ["softmax"]
    ns = _ns("\n\n".join(s for s in code if "def " in s and "%" not in s and "plt." not in s))
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    window = Window(channel, budget=30, own=frozenset(own))
    server = threading.Thread(target=harness.serve, args=(ns, theirs), daemon=True)
    server.start()
    try:
        window.wait_ready()
        ch05.check_rnn_cell_forward_compact(window.learner("rnn_cell_forward_compact"))
    finally:
        window.request({"op": "restore"}, timeout=10)
        window.end()
        channel.close()
        theirs.close()
        server.join(timeout=5)


def test_in_kernel_path_reads_own_definitions_from_the_history():
    from autograde.execution.in_kernel import _own

    def history(nb):  # IPython's In: an empty first entry, then every cell run, the running one last
        upto = grade_cell_index(nb, "test_rnn_cell_forward_compact") + 1
        return [""] + [c.source for c in nb.cells[:upto] if c.cell_type == "code"]

    assert _own("ch05", "rnn_cell_forward_compact", history(own_helper(synthetic.submission(CH05)))) == {"softmax"}
    assert _own("ch05", "rnn_cell_forward_compact", history(synthetic.submission(CH05))) == set()


# ---------------------------------------------------------------- magics in the run plan
@pytest.mark.parametrize("source,binds,reads", [
    ("%%time\nimport time\nx = f(y)", {"time", "x"}, {"f", "y"}),
    ("%time x = f(y)", {"x"}, {"f", "y"}),
    ("%%capture out --no-stderr\nprint(w)", {"out"}, {"print", "w"}),
    ("t = %timeit -o -n 3 f(x)", {"t"}, {"f", "x"}),
    ("%%timeit -n1 z = setup(1)\nf(x, z)", set(), {"f", "setup", "x"}),
    ("%matplotlib inline\nimport numpy as np", {"np"}, set()),
    ("%%time\ndef g():\n    return time.time()", {"g"}, {"time"}),
])
def test_the_python_inside_magics_is_read(source, binds, reads):
    flow = plan._flow(source)
    assert flow.binds - {"_timeit_"} == binds
    assert flow.free | flow.late == reads


@pytest.mark.parametrize("source", ["!ls {x}", "files = !ls", "%cd /tmp", "%%bash\necho hi", "%%time extra\nx = 1",
                                    "x?", "%%writefile a.py\nx = 1", "%run other.py"])
def test_other_magics_and_shell_escapes_say_nothing(source):
    assert plan._flow(source) is None


def _plan(nb, tmp_path, chapter=CH04):
    release = tmp_path / "release.ipynb"
    nbformat.write(nbformat.read(chapter.path, as_version=4), release)
    return plan.plan_run(nb, chapter, release)


def test_a_magic_cell_keeps_the_course_cells_it_reads(tmp_path):
    """The figure cell that a learner's %%time cell reads is run, and so is the import a
    %%time cell's function needs; a shell escape makes the plan skip nothing."""
    plain_skip, plain_rewrite = _plan(synthetic.submission(CH04), tmp_path)
    figure = grade_cell_index(synthetic.submission(CH04), "test_rnn_forward") + 2
    assert figure in plain_skip and 1 in plain_rewrite  # the control: skipped, and the imports cut

    skip, _ = _plan(cell_magics(synthetic.submission(CH04)), tmp_path)
    assert figure not in skip

    nb = synthetic.submission(CH04)
    nb.cells.insert(3, nbformat.v4.new_code_cell("%%time\ndef my_plot(a):\n    plt.plot(a)\n    return plt.gcf()"))
    _, rewrite = _plan(nb, tmp_path)
    assert "plt" in rewrite.get(1, "import matplotlib.pyplot as plt")

    assert _plan(shell_escape(synthetic.submission(CH04)), tmp_path) == ([], {})


# ---------------------------------------------------------------- saved by another editor
RELEASE04 = nbformat.read(CH04.path, as_version=4)


def test_windows_line_ends_are_no_edit():
    nb = crlf(synthetic.submission(CH04))
    sanitize.normalise_line_ends(nb)
    assert sanitize.edited_locked_cells(nb, RELEASE04) == []
    assert all("\r" not in c.source for c in nb.cells)
    edited = synthetic.submission(CH04)  # the control: a real edit is still one
    cell_of(edited, "test_softmax").source += "\nprint('mine')"
    assert sanitize.edited_locked_cells(edited, RELEASE04) == ["test_softmax"]


@pytest.mark.parametrize("how", ["all", "some", "moved_answer"])
def test_stripped_metadata_is_restored_from_the_release(how):
    nb = synthetic.submission(CH04)
    expected = {i: c.metadata["nbgrader"]["grade_id"] for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}
    for i, cell in enumerate(nb.cells):
        if how == "all" or (how == "some" and i % 3 == 0) or (how == "moved_answer" and i in expected):
            cell.metadata = {}
    if how == "moved_answer":  # a scratch cell added before the answer, and one after
        at = grade_cell_index(RELEASE04, "rnn_forward")
        nb.cells.insert(at, nbformat.v4.new_code_cell("print(x_example.shape)"))
        nb.cells.insert(at + 2, nbformat.v4.new_code_cell("a, _, _ = rnn_forward(x_example, a0_example, example_parameters)"))
        expected = {i + (i >= at) + (i > at): gid for i, gid in expected.items()}
    sanitize.restore_stripped_metadata(nb, RELEASE04)
    got = {i: c.metadata["nbgrader"]["grade_id"] for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}
    assert got == expected
    for i, gid in got.items():
        assert nb.cells[i].metadata["nbgrader"] == cell_of(RELEASE04, gid).metadata["nbgrader"]


# ---------------------------------------------------------------- sizes, outputs and order
def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def test_outputs_are_dropped_before_any_size_rule():
    raw = _bytes(large_figures(synthetic.submission(CH04)))
    assert len(raw) > 60 * 2**20
    nb = validate.read(raw)
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert validate.problem(raw) == ""


def test_the_size_rules_count_what_is_graded(monkeypatch):
    nb = synthetic.submission(CH04)
    nb.cells.append(nbformat.v4.new_markdown_cell("x" * (11 * 2**20)))
    assert "larger than the 10 MB a notebook may be" in validate.problem(_bytes(nb))
    nb = synthetic.submission(CH04)
    nb.cells.append(nbformat.v4.new_code_cell("# " + "x" * (2 * 2**20)))
    assert "of code, more than the 2 MB" in validate.problem(_bytes(nb))
    monkeypatch.setattr(validate, "MAX_BYTES", 2**20)
    assert "larger than the 1 MB a notebook may be" in validate.problem(_bytes(large_figures(synthetic.submission(CH04))))


def test_execution_order_saved_in_the_file_is_forgotten():
    nb = validate.read(_bytes(out_of_order(synthetic.submission(CH04))))
    assert {c.execution_count for c in nb.cells if c.cell_type == "code"} == {None}


# ---------------------------------------------------------------- the table, end to end
def _plain_jupyter(nb, folder) -> None:
    """Run ``nb`` as a learner's Jupyter does (top to bottom, the python3 kernel); raise on
    any error."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()


@pytest.fixture(scope="module")
def graded_table(released, tmp_path_factory):
    from helpers import grade, write

    c, _ = released
    subs, out = tmp_path_factory.mktemp("fair-subs"), tmp_path_factory.mktemp("fair-out")
    for v in TABLE:
        nb = variant(v)
        if v.name == "crlf":
            write(subs, v.name, v.chapter, text=nbformat.writes(nb))
        else:
            write(subs, v.name, v.chapter, nb)
    rows, proc = grade(c.root, subs, out)
    return c, rows, proc


@pytest.mark.slow
@pytest.mark.parametrize("v", TABLE, ids=[v.name for v in TABLE])
def test_honest_variant_earns_full_marks(graded_table, v, tmp_path):
    """Per variant: plain Jupyter runs it top to bottom with every visible test passing, and
    the grader gives full marks, status graded, no message, and no error in any cell."""
    from helpers import exercises

    nb = variant(v)
    if v.name not in ("large_figures",):  # (its outputs are replaced when it runs; no need for 60 MB twice)
        _plain_jupyter(nb, tmp_path)
    c, rows, _ = graded_table
    row = rows[(v.name, v.chapter.assignment)]
    total = sum(exercises(v.chapter).values())
    assert (row["status"], float(row["score"]), row["message"]) == ("graded", total, ""), row
    graded = nbformat.read(c.root / "autograded" / v.name / v.chapter.assignment / v.chapter.path.name, as_version=4)
    errors = [(i, o.get("ename"), o.get("evalue")) for i, cell in enumerate(graded.cells) if cell.cell_type == "code"
              for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


def test_the_table_states_what_jupyter_does():
    assert len({v.name for v in TABLE}) == len(TABLE)
    assert all(v.jupyter and v.build.__doc__ or v.name == "reference" for v in TABLE)
    for v in TABLE:  # each variant is a notebook nbformat accepts, and differs from the reference but for the control
        nb = variant(v)
        nbformat.validate(nb)
        same = json.dumps(nb, sort_keys=True) == json.dumps(synthetic.submission(v.chapter), sort_keys=True)
        assert same == (v.name == "reference"), v.name

