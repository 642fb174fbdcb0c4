"""Release, grade, give feedback and export, on an nbgrader course directory.

A course directory (default ``_course/``, generated and git-ignored) is an ordinary
nbgrader one, so ``nbgrader`` commands and the formgrader work in it too:

    _course/nbgrader_config.py            calls autograde.nbgrader_config.apply
    _course/source/chNN/<nb>.ipynb        assembled (autograde.assemble)
    _course/release/chNN/<nb>.ipynb       what learners get (== chapters/NN/<nb>.ipynb)
    _course/submitted/<student>/chNN/...  copied in by ``grade``
    _course/autograded/, feedback/, gradebook.db
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import json
import logging
import os
import pathlib
import re
import shutil
import sys
import tempfile
import zipfile

import nbformat

from autograde import assemble, course
from autograde.nbgrader_config import apply

log = logging.getLogger("autograde")

CONFIG_FILE = "from autograde.nbgrader_config import apply\napply(get_config(), __file__{db})\n"
STATUS_UNREADABLE = "unreadable"


@dataclasses.dataclass
class Submission:
    student: str
    chapter: course.Chapter
    path: pathlib.Path  # where the learner's file was found
    timestamp: str | None = None  # when it was submitted (ISO 8601, UTC), if known
    warnings: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Result:
    student: str
    chapter: course.Chapter | None  # None: no notebook of the course could be found
    status: str
    score: float = 0.0
    max_score: float = 0.0
    exercises: dict = dataclasses.field(default_factory=dict)  # exercise -> score
    message: str = ""
    seconds_late: float = 0.0
    diagnoses: list = dataclasses.field(default_factory=list)  # the hidden checks' "it looks like ..."


def _ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` as a command: make this interpreter's scripts findable."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


class Course:
    def __init__(self, root: str | os.PathLike = "_course", db_url: str | None = None):
        _ensure_tools_on_path()
        self.root = pathlib.Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        config_file = self.root / "nbgrader_config.py"
        # a gradebook URL given once is kept in the course's config, so later commands,
        # plain nbgrader and the formgrader all use the same gradebook
        known = re.search(r"db_url=('[^']*')", config_file.read_text()) if config_file.exists() else None
        if db_url is None and known:
            db_url = known.group(1).strip("'")
        text = CONFIG_FILE.format(db=f", db_url={db_url!r}" if db_url else "")
        if not config_file.exists() or config_file.read_text() != text:
            config_file.write_text(text)
        self.db_url = db_url
        (self.root / "exchange").mkdir(exist_ok=True)

    # ------------------------------------------------------------ nbgrader plumbing
    def api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config import Config

        c = Config()
        apply(c, str(self.root / "nbgrader_config.py"), self.db_url)
        coursedir = CourseDirectory(config=c)
        return NbGraderAPI(coursedir, config=c)

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.api().coursedir.db_url, "sequence-models-1")

    # ------------------------------------------------------------ release
    def release(self, chapters: list[course.Chapter] | None = None) -> list[pathlib.Path]:
        """Assemble the source notebooks, generate the student versions and register the
        assignments in the gradebook. Returns the released notebooks."""
        chapters = chapters or course.chapters()
        assemble.write_sources(chapters, self.root / "source")
        api = self.api()
        out = []
        for ch in chapters:
            result = api.generate_assignment(ch.assignment, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader could not generate {ch.assignment}:\n{result.get('error') or result.get('log')}")
            out.append(self.root / "release" / ch.assignment / ch.path.name)
        return out

    def released(self, chapter: course.Chapter) -> bool:
        return (self.root / "release" / chapter.assignment / chapter.path.name).exists()

    # ------------------------------------------------------------ collect
    def collect(self, submissions: str | os.PathLike) -> tuple[list[Submission], list[Result]]:
        """Find the submissions in a folder ``<student>/<notebook>.ipynb`` or an LMS zip.
        Returns the submissions, and a row for each student folder or file in which no
        notebook of the course could be found."""
        path = pathlib.Path(submissions)
        if path.is_file() and zipfile.is_zipfile(path):
            tmp = pathlib.Path(tempfile.mkdtemp(prefix="autograde-zip-"))
            stamps = {}
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    target = (tmp / info.filename).resolve()
                    if not str(target).startswith(str(tmp)):  # zip slip
                        continue
                    zf.extract(info, tmp)
                    # an LMS zip records when each file was uploaded
                    stamps[target] = "%04d-%02d-%02d %02d:%02d:%02d UTC" % info.date_time
            subs, problems = _collect_folder(tmp)
            for s in subs:
                s.timestamp = s.timestamp or stamps.get(s.path.resolve())
            return subs, problems
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is neither a folder of submissions nor a zip file")
        return _collect_folder(path)

    # ------------------------------------------------------------ grade
    def grade(self, submissions: str | os.PathLike, out: str | os.PathLike | None = None, settings=None,
              due=None) -> list[Result]:
        """Grade every submission (see autograde.pipeline) and export grades.csv and feedback."""
        from autograde.pipeline import Grader

        return Grader(self, settings).grade(submissions, out, due)

    def _result(self, student: str, chapter: course.Chapter, gb=None) -> Result:
        """A submission's scores from the gradebook (manual grades included); ``gb``: an
        open gradebook to use instead of opening one."""
        if gb is None:
            with self.gradebook() as gb:
                return self._result(student, chapter, gb)
        nb = gb.find_submission_notebook(chapter.notebook, chapter.assignment, student)
        exercises = {g.name.removeprefix("test_"): g.score for g in nb.grades}
        return Result(student, chapter, "graded", float(nb.score), float(nb.max_score), exercises)

    # ------------------------------------------------------------ feedback & export
    def feedback_file(self, student: str, chapter: course.Chapter) -> pathlib.Path:
        return self.root / "feedback" / student / chapter.assignment / (chapter.notebook + ".html")

    def feedback(self) -> list[pathlib.Path]:
        """(Re)generate the feedback HTML of every graded submission, with the grades now
        in the gradebook (after manual grading in the formgrader, say)."""
        from autograde.pipeline import Grader

        return Grader(self).regenerate_feedback()

    def results_from_gradebook(self) -> list[Result]:
        """Every submission's result: scores from the gradebook (manual grades included),
        status, lateness and diagnoses from the grading journal."""
        from autograde.pipeline import Grader

        return Grader(self).results_from_records()

    def export(self, out: str | os.PathLike | None = None, results: list[Result] | None = None) -> pathlib.Path:
        """Write ``grades.csv`` (one row per student and notebook) and copy the feedback
        files to ``out/feedback/<student>/<notebook>.html``."""
        out = pathlib.Path(out or self.root / "export")
        out.mkdir(parents=True, exist_ok=True)
        if results is None:
            results = self.results_from_gradebook()
        columns = [f"{ch.assignment}:{name}" for ch in course.chapters() for name in _exercise_names(ch)]
        csv_path = out / "grades.csv"
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["student_id", "chapter", "notebook", "status", "score", "max_score", "seconds_late",
                        *columns, "message"])
            for r in sorted(results, key=lambda r: (r.student, r.chapter.number if r.chapter else 0)):
                if r.chapter is None:
                    w.writerow([r.student, "", "", r.status, "", "", "", *[""] * len(columns), r.message])
                    continue
                max_score = r.max_score or _max_score(r.chapter)
                cells = [r.exercises.get(c.split(":", 1)[1], "") if c.startswith(r.chapter.assignment + ":") else ""
                         for c in columns]
                w.writerow([r.student, r.chapter.assignment, r.chapter.notebook, r.status,
                            _fmt(r.score), _fmt(max_score), _fmt(r.seconds_late), *[_fmt(v) for v in cells], r.message])
                fb = self.feedback_file(r.student, r.chapter)
                if fb.exists():
                    dest = out / "feedback" / r.student / fb.name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(fb, dest)
        return csv_path


# ---------------------------------------------------------------- helpers
_SAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
_CANVAS = re.compile(r"^(?P<student>[^_]+)_(?:LATE_)?\d+_\d+_(?P<file>.+)$")
_RESUBMITTED = re.compile(r"-\d+$")  # LMSs append -1, -2 to a re-submitted file's name


def _student_id(name: str) -> str:
    return _SAFE.sub("_", name).strip("_.") or "unknown"


def _match_notebook(filename: str) -> tuple[course.Chapter | None, str]:
    """The chapter a submitted file belongs to, and a warning if it was misnamed."""
    stem = filename.removesuffix(".ipynb")
    exact = course.by_notebook(stem) or course.by_notebook(_RESUBMITTED.sub("", stem))
    if exact:
        return exact, ""
    # "rnn_forward (1).ipynb", "Copy of rnn_forward.ipynb", "rnn_forward_final.ipynb"
    candidates = [c for c in course.chapters() if c.notebook in stem]
    if len(candidates) == 1 and filename.endswith(".ipynb"):
        return candidates[0], f"the file was named {filename!r} instead of {candidates[0].path.name!r}"
    return None, ""


def _stamp(folder: pathlib.Path) -> str | None:
    """nbgrader's convention: a timestamp.txt beside the submitted notebook."""
    f = folder / "timestamp.txt"
    return f.read_text().strip() or None if f.exists() else None


def _collect_folder(root: pathlib.Path) -> tuple[list[Submission], list[Result]]:
    subs: dict[tuple[str, str], Submission] = {}
    problems: list[Result] = []
    expected = ", ".join(c.path.name for c in course.chapters())
    entries = [p for p in sorted(root.iterdir()) if not p.name.startswith((".", "__MACOSX"))]
    # an archive that wraps everything in one top folder
    if len(entries) == 1 and entries[0].is_dir() and not any(_match_notebook(p.name)[0] for p in entries[0].iterdir()):
        return _collect_folder(entries[0])
    for entry in entries:
        if entry.is_dir():
            student = _student_id(entry.name)
            files = [p for p in sorted(entry.rglob("*")) if p.is_file() and ".ipynb_checkpoints" not in p.parts]
            found = False
            for f in files:
                ch, warning = _match_notebook(f.name)
                if ch is None:
                    continue
                if (student, ch.assignment) in subs and warning:
                    continue  # the properly named file wins over a misnamed copy
                subs[(student, ch.assignment)] = Submission(student, ch, f, _stamp(f.parent),
                                                            [warning] if warning else [])
                found = True
            if not found:
                names = ", ".join(f.name for f in files[:5]) or "nothing"
                problems.append(Result(student, None, STATUS_UNREADABLE,
                                       message=f"no notebook of this course found (found: {names}; expected one of: {expected})"))
        elif entry.is_file():
            m = _CANVAS.match(entry.name)
            ch, warning = _match_notebook(m["file"]) if m else (None, "")
            if ch is None:
                problems.append(Result(_student_id(entry.stem), None, STATUS_UNREADABLE,
                                       message=f"{entry.name}: cannot tell the student and the notebook from this file name"))
                continue
            student = _student_id(m["student"])
            subs[(student, ch.assignment)] = Submission(student, ch, entry, None, [warning] if warning else [])
    return list(subs.values()), problems


def _unreadable(path: pathlib.Path) -> str:
    """Why ``path`` cannot be graded as a notebook, or '' if it can."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"cannot read the file: {exc}"
    if not raw.strip():
        return "the file is empty"
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"the file is not valid notebook JSON ({exc})"
    if not isinstance(data, dict) or "cells" not in data:
        return "the file is JSON but not a Jupyter notebook (no cells)"
    try:
        nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:
        return f"the notebook cannot be read: {exc}"
    return ""


@functools.lru_cache(maxsize=None)
def _exercise_names(chapter: course.Chapter) -> list[str]:
    nb = nbformat.read(chapter.path, as_version=4)
    return [c.metadata["nbgrader"]["grade_id"].removeprefix("test_") for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")]


@functools.lru_cache(maxsize=None)
def _max_score(chapter: course.Chapter) -> float:
    nb = nbformat.read(chapter.path, as_version=4)
    return float(sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade")))


def _fmt(v) -> str:
    if v == "" or v is None:
        return ""
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.2f}"
