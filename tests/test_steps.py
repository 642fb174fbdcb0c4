"""The pure steps of a submission's walk, each on small hand-made inputs (no kernel, no
gradebook, no release): the LMS zip reader's limits, the metadata repair and the
edited-cell finder of sanitize, the verdict notebook the gradebook is written from, and
the clean feedback notebook with its HTML cleaner. The end-to-end runs (test_smoke,
test_robustness, test_security) show the same steps at work on whole classes.

The zip reader's zip-slip, link, per-member size and member-count cases are in
test_intake; here are the limits it does not cover: the total size, and a member whose
recorded size is smaller than what it unpacks to."""
from __future__ import annotations

import base64
import copy
import struct
import zipfile

import nbformat
import pytest

from autograde import course
from autograde.authoring.markers import BEGIN_HIDDEN, END_HIDDEN
from autograde.intake import collect
from autograde.nbgrader_glue.sanitize import edited_locked_cells, restore_metadata
from autograde.outputs.feedback import MAX_TEXT, clean_html, clean_notebook
from autograde.saving.gradebook import verdict_notebook

CH04 = course.by_assignment("ch04")
NB = CH04.path.name
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def _released():
    """The chapter as learners get it (the release equals the chapter but for its links)."""
    return nbformat.read(CH04.path, as_version=4)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# ---------------------------------------------------------------- the LMS zip reader's limits
def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 12, 1, 10, 0, 0)), data)
    return path


def _collect(source, tmp_path):
    work = tmp_path / "run"
    work.mkdir(exist_ok=True)
    return collect.collect(source, work)


def test_a_zip_that_unpacks_to_more_than_the_total_is_refused_whole(tmp_path, monkeypatch):
    z = _zip(tmp_path / "in.zip", {f"s{i}/{NB}": b"x" * 400 for i in range(3)})  # 1200 bytes, compressed to little
    monkeypatch.setattr(collect, "MAX_ZIP_BYTES", 1199)
    with pytest.raises(collect.IntakeError, match="would unpack to 1200 bytes; at most 1199 bytes"):
        _collect(z, tmp_path)
    assert not list((tmp_path / "run").iterdir())  # nothing was unpacked
    monkeypatch.setattr(collect, "MAX_ZIP_BYTES", 1200)
    assert len(_collect(z, tmp_path).submissions) == 3


def test_too_many_members_say_how_many(tmp_path, monkeypatch):
    z = _zip(tmp_path / "in.zip", {f"s{i}/{NB}": b"{}" for i in range(4)})
    monkeypatch.setattr(collect, "MAX_FILES", 3)
    with pytest.raises(collect.IntakeError, match="holds 4 files; at most 3 are read"):
        _collect(z, tmp_path)


def _understate_size(path, name: str, size: int) -> None:
    """Rewrite the sizes a zip records for member ``name`` (local header and central
    directory) to ``size``: a member that unpacks to more than it says."""
    data = bytearray(path.read_bytes())
    # (signature, offset of the uncompressed size, of the name's length, of the name)
    for signature, offset, length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = data.find(signature)
        while at != -1:
            n = struct.unpack_from("<H", data, at + length_at)[0]
            if bytes(data[at + name_at: at + name_at + n]) == name.encode():
                struct.pack_into("<I", data, at + offset, size)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


def test_a_member_never_unpacks_to_more_than_it_says_or_the_limit(tmp_path, monkeypatch):
    """A zip bomb's member says 10 bytes and holds 10,000: it is not taken (the reader
    stops at the recorded size and the check of its content fails), and nothing of it is
    written; its classmate is graded."""
    z = _zip(tmp_path / "in.zip", {f"ana/{NB}": b"{}" * 5_000, f"ben/{NB}": b"{}"})
    _understate_size(z, f"ana/{NB}", 10)
    assert zipfile.ZipFile(z).getinfo(f"ana/{NB}").file_size == 10
    monkeypatch.setattr(collect, "MAX_MEMBER_BYTES", 1_000)
    intake = _collect(z, tmp_path)
    rows = {r.file: (str(r.outcome), r.reason) for r in intake.rows}
    assert rows[f"ana/{NB}"][0] == "ignored" and rows[f"ana/{NB}"][1].startswith("cannot be unpacked"), rows
    assert [(s.student, s.path.read_bytes()) for s in intake.submissions] == [("ben", b"{}")]
    unpacked = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert all(p.stat().st_size <= 10 for p in unpacked), unpacked


# ---------------------------------------------------------------- sanitize: metadata and locked cells
def test_restore_metadata_puts_back_the_release_and_drops_foreign_grade_cells():
    released = _released()
    nb = copy.deepcopy(released)
    assert restore_metadata(nb, released) == 0
    _cell(nb, "test_softmax").metadata["nbgrader"]["points"] = 1000
    _cell(nb, "softmax").metadata["nbgrader"].update(grade=True, points=100)
    bonus = nbformat.v4.new_code_cell("print('free points')")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "test_bonus", "points": 50, "solution": False,
                                  "locked": False, "schema_version": 3}
    junk = nbformat.v4.new_code_cell("1")
    junk.metadata["nbgrader"] = "grade me"  # not even a dict
    nb.cells += [bonus, junk]
    assert restore_metadata(nb, released) == 4
    for gid in ("test_softmax", "softmax"):
        assert _cell(nb, gid).metadata["nbgrader"] == _cell(released, gid).metadata["nbgrader"]
    assert "nbgrader" not in nb.cells[-2].metadata and "nbgrader" not in nb.cells[-1].metadata
    assert restore_metadata(nb, released) == 0  # repaired once, nothing left to repair


def test_edited_locked_cells_names_edited_tests_only():
    released = _released()
    nb = copy.deepcopy(released)
    assert edited_locked_cells(nb, released) == []
    _cell(nb, "test_rnn_cell_forward").source = "assert True  # all good!"
    _cell(nb, "softmax").source += "\n# my answer"  # the learner's own cell: theirs to edit
    nb.cells[0].source += " (my notes)"  # an ordinary cell
    assert edited_locked_cells(nb, released) == ["test_rnn_cell_forward"]
    unlocked = _cell(nb, "test_rnn_forward")  # unlocked first, then edited: a test cell is still locked
    unlocked.metadata["nbgrader"]["locked"] = False
    unlocked.source = "pass"
    assert edited_locked_cells(nb, released) == ["test_rnn_cell_forward", "test_rnn_forward"]


# ---------------------------------------------------------------- the verdict notebook
def test_a_verdict_notebook_holds_only_the_verdicts():
    released = _released()
    sanitized = copy.deepcopy(released)
    for cell in sanitized.cells:
        if cell.cell_type == "code":  # what the kernel or the learner left: none of it may count
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1000"}, execution_count=1)]
    before = nbformat.writes(sanitized)
    verdicts = {"test_softmax": {"passed": True, "message": "passed"},
                "test_rnn_cell_forward": {"passed": "yes", "message": "a_next is wrong"},  # True, or not passed
                }  # test_rnn_forward: no verdict
    grade_ids = ["test_softmax", "test_rnn_cell_forward", "test_rnn_forward"]
    nb = verdict_notebook(sanitized, verdicts, grade_ids)
    assert nbformat.writes(sanitized) == before  # a copy: the sanitized notebook is untouched
    assert _cell(nb, "test_softmax").outputs == []
    (failed,) = _cell(nb, "test_rnn_cell_forward").outputs
    assert (failed.output_type, failed.ename, failed.evalue) == ("error", "NotPassed", "a_next is wrong")
    (missing,) = _cell(nb, "test_rnn_forward").outputs
    assert missing.evalue == "no verdict"
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code" and "nbgrader" not in c.metadata)
    assert _cell(nb, "softmax").outputs == []


def test_a_grade_cell_the_chapter_does_not_have_is_not_graded():
    sanitized = _released()
    extra = nbformat.v4.new_code_cell("pass")
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "test_extra", "points": 50, "solution": False,
                                  "locked": True, "schema_version": 3}
    sanitized.cells.append(extra)
    nb = verdict_notebook(sanitized, {"test_extra": {"passed": True}}, ["test_softmax"])
    assert nb.cells[-1].metadata["nbgrader"]["grade"] is False
    assert _cell(nb, "test_rnn_forward").metadata["nbgrader"]["grade"] is False
    assert _cell(nb, "test_softmax").metadata["nbgrader"]["grade"] is True


# ---------------------------------------------------------------- the feedback's notebook and HTML
def test_clean_html_keeps_formatting_and_drops_what_runs():
    dirty = ('<h2 onclick="x()">Title</h2><p>a <b>b</b> <code>c</code></p>'
             '<table><tr><td style="color:red;text-align:center" data-x="1">d</td></tr></table>'
             '<script>alert(1)</script><iframe src="https://x"></iframe><svg><script>1</script></svg>'
             '<a href="javascript:alert(1)">j</a> <a href="https://example.org">k</a>'
             '<img src="https://tracker.example/x.png"> <img src="data:image/png;base64,AAAA" alt="fig">'
             '<style>body{display:none}</style><form action="/"><input name="q"></form>')
    out = clean_html(dirty)
    for gone in ("<script", "<iframe", "<svg", "onclick", "javascript:", "<style", "<form", "<input",
                 "color:red", "data-x", "tracker.example"):
        assert gone not in out, (gone, out)
    for kept in ("<h2>Title</h2>", '<td style="text-align:center;">d</td>', "<b>b</b>", "<code>c</code>",
                 '<a href="https://example.org">k</a>', 'src="data:image/png;base64,AAAA"'):
        assert kept in out, (kept, out)


def _feedback_inputs():
    """A sanitized notebook (the trusted copy) and what its kernel returned."""
    sanitized = nbformat.v4.new_notebook()
    md_course = nbformat.v4.new_markdown_cell("# The course's own <b>heading</b>")
    md_learner = nbformat.v4.new_markdown_cell('Mine <script>alert(1)</script><img src=x onerror="alert(1)">')
    solution = nbformat.v4.new_code_cell("def f():\n    return 1")
    solution.metadata["nbgrader"] = {"grade": False, "grade_id": "f", "solution": True, "locked": False}
    test = nbformat.v4.new_code_cell(f"assert f() == 1\n{BEGIN_HIDDEN}\nsecret_check()\n{END_HIDDEN}\n")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "test_f", "points": 1, "solution": False, "locked": True}
    plain = nbformat.v4.new_code_cell("print('hi')")
    plain["id"] = "bad id!<script>"
    sanitized.cells = [md_course, md_learner, solution, test, plain]
    executed = copy.deepcopy(sanitized)
    executed.cells[2].outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<script>1</script>", "text/plain": "shown",
                                                     "application/javascript": "alert(1)", "image/png": PNG}),
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(b"GIF89a....").decode()}),
        nbformat.v4.new_output("display_data", data={"text/html": "<b>only html</b>"}),
        nbformat.v4.new_output("stream", name="evil", text="\x1b[31mred\x1b[0m " + "y" * (MAX_TEXT + 10)),
    ]
    executed.cells[3].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="no",
                                                        traceback=["File hidden.py, line 3", "secret_check()"])]
    executed.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{i}\n") for i in range(600)]
    executed.cells[4].execution_count = "7; drop table"
    return sanitized, executed, frozenset({md_course.source})


def test_clean_notebook_keeps_text_and_real_pngs_only():
    sanitized, executed, released_markdown = _feedback_inputs()
    nb = clean_notebook(sanitized, executed, released_markdown)
    nbformat.validate(nb)
    course_md, learner_md, solution, test, plain = nb.cells
    assert course_md.source == sanitized.cells[0].source  # the course's own Markdown, as released
    assert "<script" not in learner_md.source and "onerror" not in learner_md.source and "Mine" in learner_md.source
    shown, stream = solution.outputs  # the fake PNG and the HTML-only output are dropped
    assert shown.data == {"text/plain": "shown", "image/png": PNG}
    assert stream.name == "stdout" and stream.text.startswith("red ") and stream.text.endswith("[... cut]")
    assert len(stream.text) == len("red ") + MAX_TEXT - len("red ") + len("\n[... cut]")
    assert test.source == "assert f() == 1"  # the hidden region cut out
    (error,) = test.outputs
    assert error.traceback == ["AssertionError: no"]  # a grade cell's traceback says only the error
    assert plain.id == "cell-4" and plain.execution_count is None and len(plain.outputs) == 500
    assert solution.metadata["nbgrader"]["grade_id"] == "f" and "nbgrader" not in plain.metadata


def test_clean_notebook_never_pairs_outputs_with_the_wrong_cells():
    """An executed notebook whose cells do not line up with the sanitized one (the kernel
    added or lost a cell) gives no outputs at all."""
    sanitized, executed, released_markdown = _feedback_inputs()
    executed.cells.insert(0, nbformat.v4.new_code_cell("extra"))
    nb = clean_notebook(sanitized, executed, released_markdown)
    assert [c.source for c in nb.cells if c.cell_type == "code"][0] == sanitized.cells[2].source
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
