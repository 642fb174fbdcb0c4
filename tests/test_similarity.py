"""The similarity report: copied code is found through renamed names and rewritten
comments, the starter code and the course's own code never count, independent answers
are not flagged, and the page escapes what learners wrote."""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograde import course
from autograde.outputs import similarity

STARTER = '''
import numpy as np

def rnn_cell_forward(xt, a_prev, parameters):
    """One step of the RNN: a_next = tanh(Waa a_prev + Wax xt + ba), yt = softmax(Wya a_next + by).

    xt -- input at step t, numpy array of shape (n_x, m)
    a_prev -- hidden state at step t-1, numpy array of shape (n_a, m)
    parameters -- dict with Waa, Wax, Wya, ba, by
    Returns a_next, yt_pred, cache
    """
    raise NotImplementedError("write rnn_cell_forward")
'''

TESTS = '''
rng = np.random.default_rng(0)
p = {"Waa": rng.normal(size=(5, 5)), "Wax": rng.normal(size=(5, 3)), "Wya": rng.normal(size=(2, 5)),
     "ba": rng.normal(size=(5, 1)), "by": rng.normal(size=(2, 1))}
a, y, cache = rnn_cell_forward(rng.normal(size=(3, 10)), rng.normal(size=(5, 10)), p)
assert a.shape == (5, 10) and y.shape == (2, 10), "shapes"
print("all tests passed")
'''

ANSWER = '''
import numpy as np

def rnn_cell_forward(xt, a_prev, parameters):
    """One step of the RNN: a_next = tanh(Waa a_prev + Wax xt + ba), yt = softmax(Wya a_next + by).

    xt -- input at step t, numpy array of shape (n_x, m)
    a_prev -- hidden state at step t-1, numpy array of shape (n_a, m)
    parameters -- dict with Waa, Wax, Wya, ba, by
    Returns a_next, yt_pred, cache
    """
    Waa, Wax, Wya = parameters["Waa"], parameters["Wax"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]
    # the new hidden state mixes the previous state and the input
    pre_activation = np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba
    a_next = np.tanh(pre_activation)
    # the prediction is a softmax over the output scores, shifted for stability
    scores = np.dot(Wya, a_next) + by
    shifted = scores - np.max(scores, axis=0, keepdims=True)
    exps = np.exp(shifted)
    yt_pred = exps / np.sum(exps, axis=0, keepdims=True)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache
'''

# the same answer with every name changed and the comments rewritten
RENAMED = '''
import numpy as np

def rnn_cell_forward(xt, a_prev, parameters):
    """One step of the RNN: a_next = tanh(Waa a_prev + Wax xt + ba), yt = softmax(Wya a_next + by).

    xt -- input at step t, numpy array of shape (n_x, m)
    a_prev -- hidden state at step t-1, numpy array of shape (n_a, m)
    parameters -- dict with Waa, Wax, Wya, ba, by
    Returns a_next, yt_pred, cache
    """
    A, B, C = parameters["Waa"], parameters["Wax"], parameters["Wya"]
    b1, b2 = parameters["ba"], parameters["by"]
    # my own words: combine memory with what comes in
    z = np.dot(A, a_prev) + np.dot(B, xt) + b1
    h = np.tanh(z)
    # output layer, numerically safe
    logits = np.dot(C, h) + b2
    centred = logits - np.max(logits, axis=0, keepdims=True)
    e = np.exp(centred)
    probs = e / np.sum(e, axis=0, keepdims=True)
    memo = (h, a_prev, xt, parameters)
    return h, probs, memo
'''

# an answer written independently: another order, other operators, a helper
INDEPENDENT = '''
import numpy as np

def _softmax_columns(v):
    m = v.max(axis=0)
    w = np.exp(v - m[None, :])
    return w / w.sum(axis=0)[None, :]

def rnn_cell_forward(xt, a_prev, parameters):
    """One step of the RNN: a_next = tanh(Waa a_prev + Wax xt + ba), yt = softmax(Wya a_next + by).

    xt -- input at step t, numpy array of shape (n_x, m)
    a_prev -- hidden state at step t-1, numpy array of shape (n_a, m)
    parameters -- dict with Waa, Wax, Wya, ba, by
    Returns a_next, yt_pred, cache
    """
    p = parameters
    a_next = np.tanh(p["Wax"] @ xt + p["Waa"] @ a_prev + p["ba"])
    return a_next, _softmax_columns(p["Wya"] @ a_next + p["by"]), (a_next, a_prev, xt, p)
'''


def _notebook(code: str):
    return new_notebook(cells=[new_markdown_cell("# Chapter 4"), new_code_cell(code), new_code_cell(TESTS)])


def _release():
    return _notebook(STARTER)


def _codes(**learners):
    return {name: similarity.notebook_code(_notebook(code)) for name, code in learners.items()}


def test_renamed_copy_is_flagged_and_independent_work_is_not():
    pairs = similarity.compare(_codes(ana=ANSWER, ben=RENAMED, cleo=INDEPENDENT),
                               similarity.boilerplate(_release()))
    assert [(p.first, p.second) for p in pairs] == [("ana", "ben")]
    assert pairs[0].share_first > 0.9 and pairs[0].share_second > 0.9


def test_starter_code_and_tests_never_count():
    """Two learners who handed in the starter code (with the docstring and the visible
    tests the release holds) share nothing of their own."""
    codes = _codes(dan=STARTER, eve=STARTER + "\n# not done yet\n")
    assert similarity.compare(codes, similarity.boilerplate(_release()), min_tokens=1) == []
    # without the release's fingerprints the same two notebooks look identical
    assert similarity.compare(codes, [], min_tokens=1) != []


def test_threshold_and_minimum_size():
    codes = _codes(ana=ANSWER, ben=RENAMED)
    starter = similarity.boilerplate(_release())
    assert similarity.compare(codes, starter, threshold=1.01) == []
    assert similarity.compare(codes, starter, min_tokens=10_000) == []


def test_page_shows_matched_code_side_by_side_and_escapes_it(tmp_path):
    evil = ANSWER.replace("# the new hidden state", "# </pre><script>alert(1)</script> the new hidden state")
    release = tmp_path / "release.ipynb"
    nbformat.write(_release(), release)
    paths = {}
    for name, code in {"ana": evil, "ben": RENAMED, "<b>cleo</b>": INDEPENDENT}.items():
        paths[name] = tmp_path / f"{len(paths)}.ipynb"
        nbformat.write(_notebook(code), paths[name])
    ch = course.chapters()[3]
    page, pairs = similarity.chapter_report(ch, paths, release, tmp_path / "out")
    html = page.read_text()
    assert page == tmp_path / "out" / "similarity" / f"{ch.assignment}.html"
    assert len(pairs) == 1 and "<mark>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>cleo</b>" not in html
    assert html.count('<div class="side">') == 1
    # the highlighted parts are the learners' own code, not the starter's docstring
    marked = similarity.highlight(pairs[0], {"ana": evil, "ben": RENAMED}).first_html.split("<mark>", 1)[1]
    assert "np.tanh" in marked or "np.dot" in marked


def test_course_report_reads_the_stored_originals(tmp_path):
    ch = course.chapters()[3]

    class C:  # the two things course_report asks of a course directory
        root = tmp_path

        def released(self, chapter):
            return chapter == ch

        def released_path(self, chapter):
            return tmp_path / "release.ipynb"

    nbformat.write(_release(), tmp_path / "release.ipynb")
    for name, code in {"ana": ANSWER, "ben": RENAMED, "cleo": INDEPENDENT}.items():
        folder = tmp_path / "submitted" / name / ch.assignment
        folder.mkdir(parents=True)
        nbformat.write(_notebook(code), folder / ch.path.name)
    out = similarity.course_report(C(), tmp_path / "export")
    assert list(out) == [ch.assignment]
    assert [(p.first, p.second) for p in out[ch.assignment][1]] == [("ana", "ben")]


def test_the_class_report_links_each_chapters_page(tmp_path):
    from autograde.outputs.report import write_report
    from autograde.records import Result
    from autograde.status import Status

    ch = course.chapters()[3]
    page = tmp_path / "out" / "similarity" / f"{ch.assignment}.html"
    page.parent.mkdir(parents=True)
    page.write_text("x")
    results = [Result("ana", ch, Status.GRADED, 3, 5), Result("ben", ch, Status.GRADED, 5, 5)]
    html = write_report(results, tmp_path / "out" / "report.html",
                        similar={ch.assignment: (page, ["pair"] * 3)}).read_text()
    assert f'<a href="similarity/{ch.assignment}.html">3 pairs of learners flagged</a>' in html
    html = write_report(results, tmp_path / "out" / "report.html").read_text()
    assert "Similar code" not in html
