"""Find the submissions: a folder ``<student>/<notebook>.ipynb``, or an LMS zip (a folder
per student, or Canvas-style flat names ``name_userid_submissionid_<notebook>.ipynb``).

Lateness comes only from what the instructor or the LMS supplies: the date an LMS
recorded for each file in its zip, or the instructor's timestamps file (``--timestamps``,
CSV with ``student_id`` and ``timestamp`` columns, and optionally ``chapter``). Nothing
inside a learner's submission (a ``timestamp.txt``, say) is believed.
"""
from __future__ import annotations

import csv
import logging
import pathlib
import re
import tempfile
import zipfile

from autograde import course
from autograde.records import Result, Submission
from autograde.status import Status

MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_BYTES = 4 * 2**30  # uncompressed, in all
MAX_MEMBER_BYTES = 200 * 2**20

log = logging.getLogger("autograde")

_SAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
# Canvas's "Download submissions": <name>_[LATE_]<Canvas user id>_<submission id>_<file name>
_CANVAS = re.compile(r"^(?P<student>[^_]+)_(?:LATE_)?(?P<user>\d+)_\d+_(?P<file>.+)$")
_RESUBMITTED = re.compile(r"-(\d+)$")  # LMSs append -1, -2 to a re-submitted file's name


class IntakeError(ValueError):
    """The submissions cannot be read at all (not a folder, a broken or oversized zip)."""


def student_id(name: str) -> str:
    """A student id safe as a folder name."""
    return _SAFE.sub("_", name).strip("_.") or "unknown"


def match_notebook(filename: str) -> tuple[course.Chapter | None, str]:
    """The chapter a submitted file belongs to, and a warning if it was misnamed."""
    stem = filename.removesuffix(".ipynb")
    exact = course.by_notebook(stem) or course.by_notebook(_RESUBMITTED.sub("", stem))
    if exact:
        return exact, ""
    # "rnn_forward (1).ipynb", "Copy of rnn_forward.ipynb", "rnn_forward_final.ipynb"
    candidates = [c for c in course.chapters() if c.notebook in stem]
    # "notation" is in "simplified_notation": the longer name is the one meant
    candidates = [c for c in candidates if not any(c.notebook in o.notebook for o in candidates if o is not c)]
    if len(candidates) == 1 and filename.endswith(".ipynb"):
        return candidates[0], f"the file was named {filename!r} instead of {candidates[0].path.name!r}"
    return None, ""


def resubmission(filename: str) -> int:
    """Which re-submission a file is, by the suffix the LMS gave its name
    (``rnn_forward-2.ipynb``: 2; ``rnn_forward.ipynb``: 0)."""
    m = _RESUBMITTED.search(filename.removesuffix(".ipynb"))
    return int(m[1]) if m else 0


def _keep(found: dict, sub: Submission, name: str) -> None:
    """Put ``sub`` in ``found`` unless a better file of the same student and chapter is
    there: a properly named file beats a misnamed one, then the latest re-submission wins."""
    rank = (not sub.warnings, resubmission(name))
    key = (sub.student, sub.chapter.assignment)
    if key not in found or rank > found[key][0]:
        found[key] = (rank, sub)


def collect(source, workdir: pathlib.Path, timestamps=None) -> tuple[list[Submission], list[Result]]:
    """The submissions in ``source`` (a folder or an LMS zip, unpacked under ``workdir``),
    and a row for each student folder or file that holds no notebook of the course.
    ``timestamps``: the instructor's CSV of submission times."""
    path = pathlib.Path(source)
    stamps: dict = {}
    if path.is_file() and zipfile.is_zipfile(path):
        folder, stamps = _unzip(path, workdir)
        subs, problems = _collect_folder(folder)
        for s in subs:
            s.timestamp = stamps.get(s.path.resolve())
    elif path.is_dir():
        subs, problems = _collect_folder(path)
    else:
        raise IntakeError(f"{path} is neither a folder of submissions nor a zip file")
    ignored = sum(1 for s in subs if (s.path.parent / "timestamp.txt").exists())
    if ignored:
        log.warning("%d submissions hold a timestamp.txt; it was ignored (a learner can write it): give the "
                    "submission times with --timestamps, or grade the LMS's zip", ignored)
    if timestamps:
        given = read_timestamps(timestamps)
        for s in subs:
            s.timestamp = given.get((s.student, s.chapter.assignment)) or given.get((s.student, "")) or s.timestamp
    return subs, problems


def read_timestamps(path) -> dict[tuple[str, str], str]:
    """(student, chapter or '') -> timestamp, from the instructor's CSV."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            student, stamp = (row.get("student_id") or "").strip(), (row.get("timestamp") or "").strip()
            if student and stamp:
                out[(student_id(student), (row.get("chapter") or "").strip())] = stamp
    return out


def _unzip(path: pathlib.Path, workdir: pathlib.Path) -> tuple[pathlib.Path, dict]:
    """Unpack an LMS zip safely (no path outside the folder, bounded sizes); return the
    folder and the date the LMS recorded for each file."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="zip-", dir=workdir)).resolve()
    stamps = {}
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{path} cannot be read as a zip file: {exc}") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
            raise IntakeError(f"{path} holds more than {MAX_ZIP_MEMBERS} files or {MAX_ZIP_BYTES // 2**30} GB")
        for info in infos:
            target = (tmp / info.filename).resolve()
            if not str(target).startswith(str(tmp) + "/") or info.file_size > MAX_MEMBER_BYTES:
                continue  # a path outside the folder (zip slip), or a file too large to be a notebook
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                dst.write(src.read(MAX_MEMBER_BYTES + 1)[:MAX_MEMBER_BYTES])
            stamps[target] = "%04d-%02d-%02d %02d:%02d:%02d UTC" % info.date_time
    return tmp, stamps


def _collect_folder(root: pathlib.Path) -> tuple[list[Submission], list[Result]]:
    subs: dict[tuple[str, str], tuple] = {}
    problems: list[Result] = []
    entries = [p for p in sorted(root.iterdir()) if not p.name.startswith((".", "__MACOSX"))]
    # an archive that wraps everything in one top folder
    if len(entries) == 1 and entries[0].is_dir() and not any(match_notebook(p.name)[0] for p in entries[0].iterdir()):
        return _collect_folder(entries[0])
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            _student_folder(entry, subs, problems)
        elif entry.is_file() and not entry.is_symlink():
            m = _CANVAS.match(entry.name)
            ch, warning = match_notebook(m["file"]) if m else (None, "")
            if ch is None:
                problems.append(Result(student_id(entry.stem), None, Status.UNREADABLE,
                                       message=f"{entry.name}: cannot tell the student and the notebook from this file name"))
                continue
            sub = Submission(student_id(m["student"]), ch, entry, None, [warning] if warning else [], lms_id=m["user"])
            _keep(subs, sub, m["file"])
    return [sub for _, sub in subs.values()], problems


def _student_folder(entry: pathlib.Path, subs: dict, problems: list) -> None:
    student = student_id(entry.name)
    files = [p for p in sorted(entry.rglob("*")) if p.is_file() and not p.is_symlink()
             and ".ipynb_checkpoints" not in p.parts]
    found = False
    for f in files:
        ch, warning = match_notebook(f.name)
        if ch is None:
            continue
        _keep(subs, Submission(student, ch, f, None, [warning] if warning else []), f.name)
        found = True
    if not found:
        names = ", ".join(f.name for f in files[:5]) or "nothing"
        expected = ", ".join(c.path.name for c in course.chapters())
        problems.append(Result(student, None, Status.UNREADABLE,
                               message=f"no notebook of this course found (found: {names}; expected one of: {expected})"))
