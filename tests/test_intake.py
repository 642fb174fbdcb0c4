"""Intake: who each learner is, which of their files is graded, and what happened to every
other file of the input. Tiny folders and zips built in each test; the last test grades
one through the command line (slow)."""
from __future__ import annotations

import csv
import glob
import json
import os
import pathlib
import stat
import unicodedata
import urllib.parse
import zipfile

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograde import course
from autograde.intake import collect, store
from autograde.outputs import export
from autograde.outputs.report import write_report
from autograde.records import Result, Submission
from autograde.status import Status

CH04 = course.by_assignment("ch04")
CH05 = course.by_assignment("ch05")
NB = CH04.path.name  # rnn_forward.ipynb
NFC, NFD = unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")


def _touch(path: pathlib.Path, text: str = "{}", mtime: float | None = None) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _zip(path: pathlib.Path, members: dict, dates: dict | None = None) -> pathlib.Path:
    """A zip of ``{member name: text or ZipInfo-ready (text, external_attr)}``."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            info = zipfile.ZipInfo(name, date_time=(dates or {}).get(name, (2026, 12, 1, 10, 0, 0)))
            if isinstance(text, tuple):
                text, info.external_attr = text
            zf.writestr(info, text)
    return path


def _intake(source, tmp_path, timestamps=None):
    work = tmp_path / "run"
    work.mkdir(exist_ok=True)
    return collect.collect(source, work, timestamps)


def _subs(intake) -> dict[tuple[str, str], Submission]:
    return {(s.student, s.chapter.assignment): s for s in intake.submissions}


def _rows(intake) -> dict[str, tuple]:
    """file -> (outcome, reason, student, instead)."""
    files = [r.file for r in intake.rows]
    assert len(files) == len(set(files)), "a file has two rows"
    return {r.file: (str(r.outcome), r.reason, r.student, r.instead) for r in intake.rows}


def _every_file(root: pathlib.Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_symlink() or not p.is_dir()}


# ---------------------------------------------------------------- identity
@pytest.mark.parametrize("name", ["ana", "Jane Smith", "jane@uni.edu", "O'Brien", "张伟", "Иван Петров", "محمد",
                                  "Nguyễn Văn An", "s0042", "12345", "a.b", "x_y-z"])
def test_a_name_that_can_be_a_folder_is_its_own_id(name):
    """Is a folder name in any script kept exactly as given (never transliterated,
    collapsed or made 'unknown')?"""
    assert collect.student_id(name) == name
    assert collect.name_of(name) == name


def test_two_spellings_of_one_name_are_one_id_and_one_accent_makes_two():
    assert NFC != NFD
    assert collect.student_id(NFD) == collect.student_id(NFC) == NFC
    assert collect.student_id("Jose") != collect.student_id(NFC)
    assert collect.student_id("Zoë") != collect.student_id("Zoe")


UNSAFE = [".", "..", ".hidden", "a/b", "../../etc", "a\\b", "tab\there", "nul\x00", "line\nbreak", " ana", "ana ",
          "~", "~2E", "50%", "a#b", "who?", "*", "a[1]", "\u202eevil", "", "\u0301x", ".\u0301"]


@pytest.mark.parametrize("name", UNSAFE)
def test_a_name_that_cannot_be_a_folder_gets_an_escaped_id_that_maps_back(name, tmp_path):
    sid = collect.student_id(name)
    assert sid != name and "~" in sid
    _valid_id(sid)
    assert collect.name_of(sid) == unicodedata.normalize("NFC", name)
    (tmp_path / sid).mkdir()  # one path component, creatable
    assert [p.name for p in tmp_path.iterdir()] == [sid]


def test_escaped_ids_of_different_names_differ():
    ids = [collect.student_id(n) for n in UNSAFE + ["ana", "~7E", "%7E"]]
    assert len(set(ids)) == len(ids)
    # the literal text of one name's escape is another name
    assert collect.student_id("~2E") != collect.student_id(".")


def test_a_name_too_long_for_an_id_keeps_a_prefix_and_a_hash():
    a, b = "é" * 200 + "a", "é" * 200 + "b"
    ida, idb = collect.student_id(a), collect.student_id(b)
    assert ida != idb and ida.startswith("é" * 40) and "~~" in ida
    assert len(ida) <= 128 and len(ida.encode()) <= 255
    assert collect.name_of(ida) is None  # not reversible: the name is kept beside it
    assert collect.student_id("a" * 128) == "a" * 128 and "~~" in collect.student_id("a" * 129)


def _valid_id(sid: str) -> None:
    assert sid not in ("", ".", "..") and "/" not in sid and "\x00" not in sid
    assert sid == sid.strip()  # nbgrader strips a student id
    assert len(sid) <= collect.MAX_ID_CHARS and len(sid.encode()) <= collect.MAX_ID_BYTES
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in sid)
    assert unicodedata.is_normalized("NFC", sid)
    assert glob.escape(sid) == sid  # nbgrader globs its folders
    assert urllib.parse.unquote(sid) == sid and "#" not in sid and "?" not in sid  # the formgrader's URLs


# any character (undecodable bytes of a folder name too: lone surrogates), and often the
# tricky ones and text that looks like an escape or a hash
NAMES = st.lists(st.one_of(st.characters(exclude_categories=()), st.sampled_from(
    list("./\\~%#?*[] \t\n\x00é\u0301\u202e\udcff张") + ["~2E", "~7E", "~~", "~C3~A9", "%2E"])),
    max_size=60).map("".join)


@settings(max_examples=500, deadline=None)
@given(NAMES)
def test_every_id_is_valid_and_maps_back_to_its_name(name):
    """Injective: the id gives back the (NFC) name, or, for a name too long, it carries the
    name's hash (the three forms cannot be confused: see student_id)."""
    sid = collect.student_id(name)
    _valid_id(sid)
    back = collect.name_of(sid)
    nfc = unicodedata.normalize("NFC", name)
    assert back == nfc if back is not None else sid.endswith(collect.hashlib.sha256(
        nfc.encode("utf-8", "surrogatepass")).hexdigest()[:32])


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES, min_size=2, max_size=6))
def test_different_names_never_share_an_id(names):
    names = {unicodedata.normalize("NFC", n) for n in names}
    assert len({collect.student_id(n) for n in names}) == len(names)


def test_every_id_is_a_folder_nbgrader_accepts(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    for name in UNSAFE + ["张伟", NFD, "x" * 300, "\udcff bytes that were not UTF-8"]:
        sid = collect.student_id(name)
        cd = CourseDirectory(root=str(tmp_path), student_id=sid)
        assert cd.student_id == sid
        folder = pathlib.Path(cd.format_path("submitted", sid, "ch04"))
        folder.mkdir(parents=True)
        assert folder.parent.parent == tmp_path / "submitted" and glob.glob(str(folder)) == [str(folder)]


# ---------------------------------------------------------------- Canvas's zip
def test_canvas_learners_are_their_user_ids_even_with_one_name(tmp_path):
    """The red team's case: two students with the same sortable name; one re-submitted,
    one late."""
    z = _zip(tmp_path / "canvas.zip", {
        f"smithjane_12345_900_{NB}": "first jane",
        f"smithjane_LATE_12345_901_{CH04.notebook}-2.ipynb": "latest jane",
        f"smithjane_12345_902_{CH04.notebook}-1.ipynb": "middle jane",
        f"smithjane_67890_903_{NB}": "other jane",
        "doejohn_777_904_Copy of simplified_notation.ipynb": "john",
        "doejohn_777_905_essay.docx": "words",
    }, dates={f"smithjane_67890_903_{NB}": (2026, 12, 3, 9, 30, 0)})
    intake = _intake(z, tmp_path)
    subs = _subs(intake)
    assert set(subs) == {("12345", "ch04"), ("67890", "ch04"), ("777", "ch05")}
    assert subs[("12345", "ch04")].path.read_text() == "latest jane"
    assert subs[("67890", "ch04")].path.read_text() == "other jane"
    assert [(s.lms_id, s.name) for s in intake.submissions] == [("12345", "smithjane"), ("67890", "smithjane"),
                                                                ("777", "doejohn")]
    assert subs[("12345", "ch04")].warnings == []  # the LMS's re-submissions: no warning
    assert subs[("67890", "ch04")].timestamp == "2026-12-03 09:30:00 UTC"  # the LMS's date
    assert "instead of 'simplified_notation.ipynb'" in subs[("777", "ch05")].warnings[0]
    rows = _rows(intake)
    latest = f"smithjane_LATE_12345_901_{CH04.notebook}-2.ipynb"
    assert rows[f"smithjane_12345_900_{NB}"] == ("superseded", f"{latest} is a later re-submission", "12345", latest)
    assert rows[f"smithjane_12345_902_{CH04.notebook}-1.ipynb"][:2] == ("superseded",
                                                                        f"{latest} is a later re-submission")
    assert rows[latest][0] == rows[f"smithjane_67890_903_{NB}"][0] == "graded"
    assert rows["doejohn_777_905_essay.docx"] == ("ignored", "not a notebook of this course", "777", "")
    assert intake.problems == []


def test_a_canvas_learner_with_no_notebook_is_a_row_with_their_user_id(tmp_path):
    _touch(tmp_path / "in" / "smithjane_12345_900_essay.docx")
    problems = _intake(tmp_path / "in", tmp_path).problems
    assert [(p.student, p.lms_id, p.name, p.status) for p in problems] == [
        ("12345", "12345", "smithjane", Status.UNREADABLE)]
    assert "found: smithjane_12345_900_essay.docx;" in problems[0].message


def test_a_canvas_zip_wrapped_in_one_folder_is_still_canvas(tmp_path):
    z = _zip(tmp_path / "c.zip", {f"submissions/smithjane_12345_900_{NB}": "a", f"submissions/doejohn_777_901_{NB}": "b"})
    assert set(_subs(_intake(z, tmp_path))) == {("12345", "ch04"), ("777", "ch04")}


def test_a_class_zip_wrapped_in_one_folder_is_unwrapped(tmp_path):
    z = _zip(tmp_path / "c.zip", {f"class/ana/{NB}": "a", f"class/ben/{NB}": "b", "__MACOSX/class/ana/._x": ""})
    intake = _intake(z, tmp_path)
    assert set(_subs(intake)) == {("ana", "ch04"), ("ben", "ch04")}
    assert _rows(intake)["__MACOSX/class/ana/._x"][:3] == ("ignored", "macOS archive metadata (__MACOSX, ._ files)", "")


# ---------------------------------------------------------------- learners' folders
def test_folders_in_any_script_are_distinct_learners(tmp_path):
    names = ["张伟", "张伟伟", "Иван", "Иванова", "محمد", "Jose", NFC, "Zoë", "Zoe", "Jane Smith", "Jane_Smith"]
    for n in names:
        _touch(tmp_path / "in" / n / NB, n)
    subs = _subs(_intake(tmp_path / "in", tmp_path))
    assert set(subs) == {(n, "ch04") for n in names}
    assert all(subs[(n, "ch04")].path.read_text() == n and subs[(n, "ch04")].name == n for n in names)


def test_two_spellings_of_one_folder_name_are_one_learner(tmp_path):
    _touch(tmp_path / "in" / NFD / NB, "nfd")
    _touch(tmp_path / "in" / NFC / CH05.path.name, "nfc")
    _touch(tmp_path / "in" / NFC / "old" / NB, "old")
    intake = _intake(tmp_path / "in", tmp_path)
    subs = _subs(intake)
    assert set(subs) == {(NFC, "ch04"), (NFC, "ch05")}
    assert subs[(NFC, "ch04")].path.read_text() == "nfd"  # the least deep of the learner's two folders
    assert subs[(NFC, "ch04")].name == NFC
    assert _rows(intake)[f"{NFC}/old/{NB}"][0] == "superseded"


def test_unsafe_folder_names_are_graded_under_an_escaped_id(tmp_path):
    for name in [".x", "~", "a[1]", "tab\there"]:
        _touch(tmp_path / "in" / "class" / name / NB, name)
    _touch(tmp_path / "in" / "class" / "other" / NB)
    subs = _intake(tmp_path / "in" / "class", tmp_path).submissions
    by_name = {s.name: s for s in subs}
    assert set(by_name) == {"~", "a[1]", "tab\there", "other"}  # .x is hidden: see the next test
    assert by_name["a[1]"].student == "a~5B1~5D" and by_name["~"].student == "~7E"
    assert by_name["tab\there"].student == "tab~09here" and by_name["other"].student == "other"


def test_a_finished_notebook_beats_an_old_copy_and_a_dash_one_copy(tmp_path):
    """In a learner's own folder, ``-1`` is not a re-submission: the exact name, least deep, wins."""
    _touch(tmp_path / "in" / "ana" / NB, "finished", mtime=1_000)
    _touch(tmp_path / "in" / "ana" / "old" / NB, "old", mtime=2_000)
    _touch(tmp_path / "in" / "ana" / f"{CH04.notebook}-1.ipynb", "dash one", mtime=3_000)
    intake = _intake(tmp_path / "in", tmp_path)
    sub = _subs(intake)[("ana", "ch04")]
    assert sub.path.read_text() == "finished" and sub.source == f"ana/{NB}"
    assert sub.warnings == [f"3 notebooks of ch04 were found: graded '{NB}', which is less deep in the folder; "
                            f"not 'old/{NB}', '{CH04.notebook}-1.ipynb' (see intake.csv)"]
    rows = _rows(intake)
    assert rows[f"ana/old/{NB}"] == ("superseded", f"{NB} is less deep in the folder", "ana", f"ana/{NB}")
    assert rows[f"ana/{CH04.notebook}-1.ipynb"] == ("superseded", f"{NB} has the notebook's exact name", "ana",
                                                    f"ana/{NB}")
    assert rows[f"ana/{NB}"][0] == "graded"


def test_a_dash_one_file_alone_is_graded_with_a_warning(tmp_path):
    _touch(tmp_path / "in" / "ana" / f"{CH04.notebook}-1.ipynb")
    sub = _subs(_intake(tmp_path / "in", tmp_path))[("ana", "ch04")]
    assert sub.warnings == [f"the file was named '{CH04.notebook}-1.ipynb' instead of '{NB}'"]


def test_among_equals_the_newest_then_the_first_in_path_order(tmp_path):
    _touch(tmp_path / "in" / "ana" / "a" / NB, "older", mtime=1_000)
    _touch(tmp_path / "in" / "ana" / "b" / NB, "newer", mtime=2_000)
    _touch(tmp_path / "in" / "ben" / "a" / NB, "a", mtime=1_000)
    _touch(tmp_path / "in" / "ben" / "b" / NB, "b", mtime=1_000)
    intake = _intake(tmp_path / "in", tmp_path)
    subs = _subs(intake)
    assert subs[("ana", "ch04")].path.read_text() == "newer"
    assert subs[("ben", "ch04")].path.read_text() == "a"
    assert _rows(intake)[f"ana/a/{NB}"][1] == f"b/{NB} is newer"
    assert _rows(intake)[f"ben/b/{NB}"][1] == f"a/{NB} comes first in path order"
    assert "which is newer" in subs[("ana", "ch04")].warnings[0]


def test_copies_with_the_same_content_are_no_warning(tmp_path):
    _touch(tmp_path / "in" / "ana" / NB, "same")
    _touch(tmp_path / "in" / "ana" / f"Copy of {NB}", "same")
    intake = _intake(tmp_path / "in", tmp_path)
    assert _subs(intake)[("ana", "ch04")].warnings == []
    assert _rows(intake)[f"ana/Copy of {NB}"][1] == f"{NB} has the notebook's exact name (same content)"


def test_what_is_not_a_notebook_of_the_course_is_listed_with_why(tmp_path):
    root = tmp_path / "in"
    _touch(root / "ana" / NB)
    _touch(root / "ana" / "essay.docx")
    _touch(root / "ana" / "homework.ipynb")
    _touch(root / "ana" / ".ipynb_checkpoints" / f"{CH04.notebook}-checkpoint.ipynb")
    _touch(root / "ana" / ".DS_Store")
    _touch(root / "ana" / "timestamp.txt", "2026-11-01 00:00:00 UTC")
    _touch(root / "__MACOSX" / "ana" / f"._{NB}")
    _touch(root / ".hidden" / NB)
    _touch(root / "stray.ipynb")
    (root / "ben").mkdir()
    (root / "ben" / NB).symlink_to(root / "ana" / NB)
    (root / "cy").mkdir()
    (root / "cy" / "linked").symlink_to(root / "ana", target_is_directory=True)
    (root / "dee").mkdir()  # an empty folder is a learner with nothing
    os.mkfifo(root / "ana" / "pipe")
    intake = _intake(root, tmp_path)
    rows = _rows(intake)
    assert set(rows) == _every_file(root)  # every file accounted for (links and pipes too)
    assert set(_subs(intake)) == {("ana", "ch04")}
    assert rows["ana/essay.docx"][:2] == rows["ana/homework.ipynb"][:2] == ("ignored", "not a notebook of this course")
    assert rows[f"ana/.ipynb_checkpoints/{CH04.notebook}-checkpoint.ipynb"][1] == \
        "a Jupyter checkpoint (.ipynb_checkpoints)"
    assert rows["ana/.DS_Store"][1] == rows[f".hidden/{NB}"][1] == "a hidden file or folder"
    assert rows["ana/timestamp.txt"][1].startswith("written by the learner")
    assert rows[f"__MACOSX/ana/._{NB}"] == ("ignored", "macOS archive metadata (__MACOSX, ._ files)", "", "")
    assert rows["stray.ipynb"][0] == "ignored" and rows["stray.ipynb"][2] == ""
    assert "whose it is cannot be told" in rows["stray.ipynb"][1]
    assert rows[f"ben/{NB}"] == rows["cy/linked"][:2] + ("ben", "") == ("ignored", "a symbolic link, not followed",
                                                                       "ben", "")
    assert rows["ana/pipe"][1] == "not a regular file"
    problems = {p.student: p for p in intake.problems}
    assert set(problems) == {"ben", "cy", "dee"}  # no learner '.hidden', '__MACOSX' or 'stray'
    assert f"found: {NB} (a symbolic link, not followed);" in problems["ben"].message
    assert "found: nothing;" in problems["dee"].message


def test_a_zip_accounts_for_every_member_and_writes_nothing_outside_the_run(tmp_path):
    members = {
        f"ana/{NB}": "ana",
        f"../evil/{NB}": "slip",
        f"/abs/{NB}": "slip",
        f"ana/../../{NB}": "slip",
        f"C:\\temp\\{NB}": "slip",
        f"ben\\{NB}": "windows",  # a zip made on Windows
        f"cy/{NB}": ("/etc/passwd", (stat.S_IFLNK | 0o777) << 16),
        "dee/big.ipynb": "x" * 100,
        f"dee/{NB}": "x" * 100,
    }
    z = _zip(tmp_path / "in.zip", members)
    collect_limit = collect.MAX_MEMBER_BYTES
    try:
        collect.MAX_MEMBER_BYTES = 50
        intake = _intake(z, tmp_path)
    finally:
        collect.MAX_MEMBER_BYTES = collect_limit
    rows = _rows(intake)
    assert set(rows) == {m.replace("\\", "/") if m.startswith("ben") else m for m in members}
    for slip in (f"../evil/{NB}", f"/abs/{NB}", f"ana/../../{NB}", f"C:\\temp\\{NB}"):
        assert rows[slip] == ("ignored", "its path leads outside the archive's folder (zip slip)", "", "")
    assert rows[f"cy/{NB}"] == ("ignored", "a symbolic link, not followed", "cy", "")
    assert rows[f"dee/{NB}"][:3] == ("ignored", "too large (0 MB; a file may be 0 MB)", "dee")
    subs = _subs(intake)
    assert set(subs) == {("ana", "ch04"), ("ben", "ch04")}
    assert subs[("ben", "ch04")].path.read_text() == "windows"
    assert all(p.is_relative_to(tmp_path / "run") for p in (s.path for s in intake.submissions))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.zip", "run"]
    assert {p.student for p in intake.problems} == {"cy", "dee"}


def test_too_many_files_refuse_the_whole_input(tmp_path, monkeypatch):
    monkeypatch.setattr(collect, "MAX_FILES", 3)
    z = _zip(tmp_path / "in.zip", {f"s{i}/{NB}": "{}" for i in range(4)})
    with pytest.raises(collect.IntakeError, match="more than 3 files"):
        _intake(z, tmp_path)
    for i in range(4):
        _touch(tmp_path / "in" / f"s{i}" / NB)
    with pytest.raises(collect.IntakeError, match="more than 3 files"):
        _intake(tmp_path / "in", tmp_path)
    monkeypatch.setattr(collect, "MAX_FILES", 4)
    assert len(_intake(z, tmp_path).submissions) == 4


def test_an_oversized_file_in_a_folder_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setattr(collect, "MAX_MEMBER_BYTES", 10)
    _touch(tmp_path / "in" / "ana" / NB, "x" * 11)
    _touch(tmp_path / "in" / "ana" / "old" / NB, "x" * 10)
    intake = _intake(tmp_path / "in", tmp_path)
    assert _subs(intake)[("ana", "ch04")].source == f"ana/old/{NB}"
    assert _rows(intake)[f"ana/{NB}"][:2] == ("ignored", "too large (0 MB; a file may be 0 MB)")


def test_the_timestamps_file_names_learners_as_the_submissions_do(tmp_path):
    _touch(tmp_path / "in" / NFC / NB)
    _touch(tmp_path / "in" / "a[1]" / NB)
    times = tmp_path / "times.csv"
    times.write_text(f"student_id,timestamp\n{NFD},2026-12-02 10:00:00 UTC\na[1],2026-12-03 10:00:00 UTC\n"
                     "José ,2026-12-04 10:00:00 UTC\n", encoding="utf-8")
    subs = _subs(_intake(tmp_path / "in", tmp_path, times))
    assert subs[(NFC, "ch04")].timestamp == "2026-12-02 10:00:00 UTC"  # the NFD spelling, normalised
    assert subs[("a~5B1~5D", "ch04")].timestamp == "2026-12-03 10:00:00 UTC"  # as given, escaped the same way


# ---------------------------------------------------------------- the outputs
def _read(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_every_export_row_carries_its_own_learners_id(tmp_path):
    """The red team's case: two students named smithjane in Canvas's zip, one with 8 points:
    grades.csv, canvas.csv and moodle.csv each give each id its own points."""
    z = _zip(tmp_path / "canvas.zip", {f"smithjane_111_900_{NB}": "eight", f"smithjane_222_901_{NB}": "three",
                                       f"zhangwei_333_902_{NB}": "five"})
    intake = _intake(z, tmp_path)
    points = {"eight": 8.0, "three": 3.0, "five": 5.0}
    results = [Result(s.student, s.chapter, Status.GRADED, points[s.path.read_text()], 10.0, lms_id=s.lms_id,
                      name=s.name) for s in intake.submissions]
    grades = {r["student_id"]: r for r in csv.DictReader(open(export.write_grades(results, tmp_path / "o",
                                                                                  lambda *a: tmp_path / "none")))}
    assert {k: (r["name"], r["score"]) for k, r in grades.items()} == {
        "111": ("smithjane", "8"), "222": ("smithjane", "3"), "333": ("zhangwei", "5")}
    col = 5 + [ch.assignment for ch in course.chapters()].index("ch04")
    canvas = _read(export.write_lms(results, tmp_path / "o", "canvas"))
    assert {r[1]: (r[0], r[2], r[col]) for r in canvas[2:]} == {
        "111": ("smithjane", "", "8"), "222": ("smithjane", "", "3"), "333": ("zhangwei", "", "5")}
    moodle = _read(export.write_lms(results, tmp_path / "o", "moodle"))
    assert {r[2]: r[col + 1] for r in moodle[1:]} == {"111": "8", "222": "3", "333": "5"}


def test_folder_learners_are_exported_under_their_names_as_given(tmp_path):
    results = [Result("a~5B1~5D", CH04, Status.GRADED, 4.0, 10.0, name="a[1]"),
               Result("张伟", CH04, Status.GRADED, 7.0, 10.0, name="张伟"),
               Result("ben@uni.edu", CH04, Status.GRADED, 2.0, 10.0, name="ben@uni.edu")]
    col = 5 + [ch.assignment for ch in course.chapters()].index("ch04")
    canvas = _read(export.write_lms(results, tmp_path, "canvas"))
    assert {r[0]: (r[1], r[2], r[col]) for r in canvas[2:]} == {
        "a[1]": ("", "a[1]", "4"), "张伟": ("", "张伟", "7"), "ben@uni.edu": ("", "ben@uni.edu", "2")}
    moodle = _read(export.write_lms(results, tmp_path, "moodle"))
    assert {r[2]: (r[5], r[col + 1]) for r in moodle[1:]} == {
        "a[1]": ("", "4"), "张伟": ("", "7"), "ben@uni.edu": ("ben@uni.edu", "2")}
    grades = _read(export.write_grades(results, tmp_path, lambda *a: tmp_path / "none"))
    assert [r[:2] for r in grades[1:]] == [["a~5B1~5D", "a[1]"], ["ben@uni.edu", "ben@uni.edu"], ["张伟", "张伟"]]


def test_the_intake_table_and_the_report_list_every_file(tmp_path):
    _touch(tmp_path / "in" / "ana" / NB, "finished")
    _touch(tmp_path / "in" / "ana" / "old" / NB, "old")
    _touch(tmp_path / "in" / "ana" / "<b>notes</b>.txt")
    intake = _intake(tmp_path / "in", tmp_path)
    table = _read(export.write_intake(intake.rows, tmp_path / "out"))
    assert table[0] == ["file", "student_id", "name", "chapter", "outcome", "reason", "graded_instead"]
    assert table[1:] == [
        ["ana/<b>notes</b>.txt", "ana", "ana", "", "ignored", "not a notebook of this course", ""],
        [f"ana/old/{NB}", "ana", "ana", "ch04", "superseded", f"{NB} is less deep in the folder", f"ana/{NB}"],
        [f"ana/{NB}", "ana", "ana", "ch04", "graded", "", ""]]
    page = write_report([], tmp_path / "report.html", intake.rows).read_text()
    assert "&lt;b&gt;notes&lt;/b&gt;.txt" in page and "<b>notes" not in page  # escaped
    assert f"<td>ana/old/{NB}</td><td>ana</td><td>superseded</td><td>{NB} is less deep in the folder</td>" \
           f"<td>ana/{NB}</td>" in page
    assert "<td>1</td><td>graded</td><td></td>" in page and "<td>1</td><td>superseded</td>" in page


def test_storing_refuses_an_id_that_is_not_one_folder(tmp_path):
    src = _touch(tmp_path / "nb.ipynb")
    for bad in ("..", "a/b", ""):
        with pytest.raises(OSError, match="not a folder name"):
            store.store(Submission(bad, CH04, src), tmp_path / "course")
    assert not (tmp_path / "course").exists()


# ---------------------------------------------------------------- through the command line
@pytest.mark.slow
def test_a_mixed_class_is_graded_under_the_right_ids(released, tmp_path):
    """Canvas's zip with two students of one sortable name (one with a mistake), a learner
    in a non-Latin folder with an old copy beside the finished notebook, a folder name that
    needs an escaped id, and a stray file: grades.csv, intake.csv, the feedback, the report
    and canvas.csv agree on who got what."""
    from autograde.authoring import synthetic
    from helpers import cli, grade, page_text
    from helpers import exercises as points

    c, _ = released
    right = json.dumps(synthetic.submission(CH04, "reference"))
    wrong = json.dumps(synthetic.submission(CH04, {"rnn_forward": "loop_not_from_a0"}))
    untouched = nbformat.writes(synthetic.submission(CH04, "untouched"))
    z = _zip(tmp_path / "class.zip", {f"smithjane_111_900_{NB}": right, f"smithjane_222_901_{NB}": wrong,
                                      f"张伟/{NB}": right, f"张伟/old/{NB}": untouched, f"Zoë [2]/{NB}": right,
                                      "notes.txt": "hi"})
    rows, proc = grade(c.root, z, tmp_path / "out")
    full = sum(points(CH04).values())
    assert {k: (r["name"], r["status"], float(r["score"])) for k, r in rows.items()} == {
        ("111", "ch04"): ("smithjane", "graded", full),
        ("222", "ch04"): ("smithjane", "graded", full - points(CH04)["rnn_forward"]),
        ("张伟", "ch04"): ("张伟", "graded-with-warnings", full),
        ("Zoë ~5B2~5D", "ch04"): ("Zoë [2]", "graded", full)}
    assert rows[("张伟", "ch04")]["message"].startswith(f"2 notebooks of ch04 were found: graded '{NB}'")
    intake = {r["file"]: (r["student_id"], r["outcome"], r["graded_instead"])
              for r in csv.DictReader(open(tmp_path / "out" / "intake.csv"))}
    assert intake == {f"smithjane_111_900_{NB}": ("111", "graded", ""), f"smithjane_222_901_{NB}": ("222", "graded", ""),
                      f"张伟/{NB}": ("张伟", "graded", ""), f"张伟/old/{NB}": ("张伟", "superseded", f"张伟/{NB}"),
                      f"Zoë [2]/{NB}": ("Zoë ~5B2~5D", "graded", ""), "notes.txt": ("", "ignored", "")}
    for sid in ("111", "222", "张伟", "Zoë ~5B2~5D"):
        assert (tmp_path / "out" / "feedback" / sid / f"{CH04.notebook}.html").exists()
        assert (c.root / "submitted" / sid / "ch04" / NB).exists() and (c.root / "autograded" / sid / "ch04" / NB).exists()
    assert "Zoë ~5B2~5D" in cli("--course", c.root, "feedback").stdout  # the pages made again from the gradebook
    report = page_text((tmp_path / "out" / "report.html").read_text())
    assert f"张伟/old/{NB} 张伟 superseded {NB} is less deep in the folder 张伟/{NB}" in report
    cli("--course", c.root, "-q", "export", "--format", "canvas", "--out", tmp_path / "out")
    canvas = _read(tmp_path / "out" / "canvas.csv")
    col = 5 + [ch.assignment for ch in course.chapters()].index("ch04")
    got = {r[1] or r[2]: (r[0], float(r[col])) for r in canvas[2:] if r[col]}
    assert got["111"] == ("smithjane", full) and got["222"] == ("smithjane", full - points(CH04)["rnn_forward"])
    assert got["张伟"] == ("张伟", full) and got["Zoë [2]"] == ("Zoë [2]", full)  # SIS User ID: the name as given
