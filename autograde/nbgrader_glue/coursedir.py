"""The nbgrader course directory (default ``_course/``, generated and git-ignored).

It is an ordinary nbgrader one, so ``nbgrader`` commands and the formgrader work in it:

    _course/nbgrader_config.py            calls autograde.nbgrader_glue.config.apply
    _course/source/chNN/<nb>.ipynb        assembled (autograde.authoring.assemble)
    _course/release/chNN/<nb>.ipynb       what learners get (== chapters/NN/<nb>.ipynb)
    _course/submitted/<student>/chNN/...  read-only copies made at intake
    _course/autograded/, feedback/, gradebook.db, autograde-journal.jsonl
"""
from __future__ import annotations

import os
import pathlib
import re
import sys

from autograde import course
from autograde.nbgrader_glue.config import COURSE_ID, apply
from autograde.records import Result
from autograde.status import Status

CONFIG_FILE = "from autograde.nbgrader_glue.config import apply\napply(get_config(), __file__{db})\n"


def _ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` as a command: make this interpreter's scripts findable."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


class Course:
    """A course directory; ``db_url`` given once is kept in its config file, so later
    commands, plain nbgrader and the formgrader all use the same gradebook."""

    def __init__(self, root: str | os.PathLike = "_course", db_url: str | None = None):
        _ensure_tools_on_path()
        self.root = pathlib.Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        config_file = self.root / "nbgrader_config.py"
        known = re.search(r"db_url=('[^']*')", config_file.read_text()) if config_file.exists() else None
        if db_url is None and known:
            db_url = known.group(1).strip("'")
        text = CONFIG_FILE.format(db=f", db_url={db_url!r}" if db_url else "")
        if not config_file.exists() or config_file.read_text() != text:
            config_file.write_text(text)
        self.db_url = db_url
        (self.root / "exchange").mkdir(exist_ok=True)

    def config(self):
        from traitlets.config import Config

        c = Config()
        apply(c, str(self.root / "nbgrader_config.py"), self.db_url)
        return c

    def api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        c = self.config()
        return NbGraderAPI(CourseDirectory(config=c), config=c)

    @property
    def gradebook_url(self) -> str:
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config()).db_url

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.gradebook_url, COURSE_ID)

    # ------------------------------------------------------------ release
    def release(self, chapters: list[course.Chapter] | None = None) -> list[pathlib.Path]:
        """Assemble the source notebooks, generate the student versions and register the
        assignments in the gradebook. Returns the released notebooks."""
        from autograde.authoring import assemble

        chapters = chapters or course.chapters()
        assemble.write_sources(chapters, self.root / "source")
        api = self.api()
        out = []
        for ch in chapters:
            result = api.generate_assignment(ch.assignment, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader could not generate {ch.assignment}:\n{result.get('error') or result.get('log')}")
            out.append(self.released_path(ch))
        return out

    def released_path(self, chapter: course.Chapter) -> pathlib.Path:
        return self.root / "release" / chapter.assignment / chapter.path.name

    def released(self, chapter: course.Chapter) -> bool:
        return self.released_path(chapter).exists()

    # ------------------------------------------------------------ results
    def result(self, student: str, chapter: course.Chapter, gb) -> Result:
        """A submission's scores from the gradebook ``gb`` (manual grades included)."""
        nb = gb.find_submission_notebook(chapter.notebook, chapter.assignment, student)
        exercises = {g.name.removeprefix("test_"): g.score for g in nb.grades}
        points = {g.name.removeprefix("test_"): g.max_score for g in nb.grades}
        return Result(student, chapter, Status.GRADED, float(nb.score), float(nb.max_score), exercises, points)

    def feedback_file(self, student: str, chapter: course.Chapter) -> pathlib.Path:
        return self.root / "feedback" / student / chapter.assignment / (chapter.notebook + ".html")
