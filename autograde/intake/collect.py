"""Find the submissions: who each learner is, which file of theirs is graded for each
chapter, and what happened to every other file of the input.

The input is a folder ``<learner>/<notebook>.ipynb`` (any depth below the learner's
folder), or an LMS zip of the same, or Canvas's "Download submissions" zip, whose flat
file names carry the learner's Canvas user id:
``<sortable name>_[LATE_]<user id>_<submission id>_<file name>``.

Identity. A learner is the LMS's user id when the LMS gives one (Canvas), otherwise the
folder name exactly as given: in any script, Unicode-normalised (NFC, so two spellings
of one name are one learner), never transliterated or collapsed. ``student_id`` turns that
name into the id used everywhere (gradebook, course folders, feedback, grades.csv): the
name itself when it can be a path component and an nbgrader student id, else an escaped
form that maps back to the name; the name as given is kept for display.

Choice. Per learner and chapter one file is graded; every other file is listed in the
intake table with the reason it was superseded or ignored (``Intake.rows``):

1. the notebook's exact name (``rnn_forward.ipynb``) beats any other name (a copy, ``-1``);
   in Canvas's flat names the LMS's re-submission suffix (``rnn_forward-2.ipynb``) is
   part of the exact name, nowhere else;
2. then the file least deep in the learner's folder (``old/rnn_forward.ipynb`` loses);
3. then the LMS's latest re-submission (``-2`` over ``-1`` over none; Canvas only), then
   its higher submission id (Canvas only);
4. then the newest (the date an LMS zip recorded, or the file's modification time);
5. then the first in path order.

A submission chosen among notebooks that differ says so in a warning (graded with
warnings), unless the others were only the LMS's earlier re-submissions.

Lateness comes only from what the instructor or the LMS supplies: the date an LMS
recorded for each file in its zip, or the instructor's timestamps file (``--timestamps``,
CSV with ``student_id`` and ``timestamp`` columns, and optionally ``chapter``). Nothing
inside a learner's submission (a ``timestamp.txt``, say) is believed.

``collect`` is a pure step: the input in, an ``Intake`` out; it writes nothing but the
notebooks it unpacks from a zip into the run's folder.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import logging
import os
import pathlib
import re
import stat
import tempfile
import unicodedata
import zipfile

from autograde import course
from autograde.records import Intake, IntakeRow, Outcome, Result, Submission
from autograde.status import Status

MAX_FILES = 20_000  # files in a zip, or in a folder of submissions
MAX_ZIP_BYTES = 4 * 2**30  # uncompressed, in all
MAX_MEMBER_BYTES = 200 * 2**20  # one file (no notebook is near this; validate's limit is lower)
MAX_ID_CHARS = 128  # nbgrader's gradebook keeps a student id in a String(128)
MAX_ID_BYTES = 255  # a path component (ext4, xfs, btrfs, tmpfs)

log = logging.getLogger("autograde")

# Canvas's "Download submissions": <name>_[LATE_]<Canvas user id>_<submission id>_<file name>
_CANVAS = re.compile(r"^(?P<name>.+?)_(?:LATE_)?(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_RESUBMITTED = re.compile(r"-(\d+)$")  # LMSs append -1, -2 to a re-submitted file's name


_NOT_OURS = "not a notebook of this course"
_ZIP_SLIP = "its path leads outside the archive's folder (zip slip)"


class IntakeError(ValueError):
    """The submissions cannot be read at all (not a folder, a broken or oversized zip)."""


# ---------------------------------------------------------------- identity
ESCAPE = "~"
"""starts an escaped character (``~2F`` for ``/``, one ``~XX`` per UTF-8 byte); ``~~``
starts the hash of a name too long to be an id"""
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# the escape itself; path separators; '%', '#', '?' (they change a URL: the formgrader's
# pages are /.../<student id>); glob patterns (nbgrader globs its folders); bidirectional
# controls (they make one id display as another)
_UNSAFE = frozenset(ESCAPE + "/\\%#?*[]") | _BIDI
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, undecodable bytes, line breaks


def _escaped(c: str) -> str:
    return "".join(f"{ESCAPE}{b:02X}" for b in c.encode("utf-8", "surrogatepass"))


def student_id(name: str) -> str:
    """The id of the learner the input calls ``name`` (a folder name as given, or an LMS's
    user id): ``name`` itself, Unicode-normalised (NFC), when it is a safe path component
    and nbgrader student id; otherwise the same with each unsafe character escaped
    (``~XX`` per UTF-8 byte: ``.`` ``..`` and a leading dot, separators, controls, leading
    or trailing spaces, ``~ % # ? * [ ]``, bidirectional controls), which ``name_of`` maps
    back. A name whose id would be longer than nbgrader or a file system allow keeps a
    prefix and adds ``~~`` and the first 128 bits of its SHA-256. Two different names (after
    NFC) never get one id: the three forms cannot be confused (a safe name holds no ``~``,
    an escaped one only ``~XX``, a hashed one ``~~``)."""
    name = unicodedata.normalize("NFC", name)
    if not name:
        return ESCAPE
    tokens, last = [], len(name) - 1
    for i, c in enumerate(name):
        unsafe = (c in _UNSAFE or unicodedata.category(c) in _UNSAFE_CATEGORIES
                  or (i == 0 and c == ".") or ((i == 0 or i == last) and c.isspace())
                  # a combining mark after an escape (or first) would compose with it under NFC
                  or (unicodedata.combining(c) and (i == 0 or len(tokens[-1]) > 1)))
        tokens.append(_escaped(c) if unsafe else c)
    sid = "".join(tokens)
    if len(sid) <= MAX_ID_CHARS and len(sid.encode()) <= MAX_ID_BYTES:
        return sid
    digest = ESCAPE * 2 + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    prefix, size = "", len(digest)
    for t in re.findall(rf"{ESCAPE}[0-9A-F]{{2}}|.", sid, flags=re.S):
        if len(prefix) + len(t) + len(digest) > MAX_ID_CHARS or size + len(t.encode()) > MAX_ID_BYTES:
            break
        prefix, size = prefix + t, size + len(t.encode())
    return prefix + digest


def name_of(sid: str) -> str | None:
    """The name (NFC) whose id is ``sid``, or None for a hashed id (too long a name: its
    name is kept beside it, ``Submission.name``)."""
    if ESCAPE * 2 in sid:
        return None
    if sid == ESCAPE:
        return ""
    parts = re.split(rf"{ESCAPE}([0-9A-F]{{2}})", sid)
    raw = b"".join(bytes([int(p, 16)]) if i % 2 else p.encode() for i, p in enumerate(parts))
    return raw.decode("utf-8", "surrogatepass")


def shown(name: str) -> str:
    """A file or folder name as text that can be written anywhere (bytes that were not
    UTF-8 become U+FFFD); for display only, never an id."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# ---------------------------------------------------------------- notebooks
def match_notebook(filename: str, lms: bool = True) -> tuple[course.Chapter | None, str]:
    """The chapter a submitted file belongs to, and a warning if it was misnamed. ``lms``:
    the name is the LMS's own (Canvas's flat names), whose re-submission suffix
    (``rnn_forward-1.ipynb``) is part of the proper name; in a learner's own folder such a
    file is a copy, graded with a warning when nothing better is there."""
    if not filename.lower().endswith(".ipynb"):
        return None, ""
    stem = filename[: -len(".ipynb")]
    exact = course.by_notebook(stem) or (lms and course.by_notebook(_RESUBMITTED.sub("", stem)))
    if exact and filename.endswith(".ipynb"):
        return exact, ""
    # "rnn_forward (1).ipynb", "Copy of rnn_forward.ipynb", "rnn_forward_final.ipynb"
    candidates = [c for c in course.chapters() if c.notebook in stem.lower()]
    # "notation" is in "simplified_notation": the longer name is the one meant
    candidates = [c for c in candidates if not any(c.notebook in o.notebook for o in candidates if o is not c)]
    if len(candidates) == 1:
        return candidates[0], f"the file was named {filename!r} instead of {candidates[0].path.name!r}"
    return None, ""


def resubmission(filename: str) -> int:
    """Which re-submission a file is, by the suffix the LMS gave its name
    (``rnn_forward-2.ipynb``: 2; ``rnn_forward.ipynb``: 0)."""
    m = _RESUBMITTED.search(filename.removesuffix(".ipynb"))
    return int(m[1]) if m else 0


# ---------------------------------------------------------------- the input's files
@dataclasses.dataclass
class _File:
    parts: tuple[str, ...]
    """its path inside the input, as given"""
    size: int = 0
    when: str | None = None
    """the date an LMS zip recorded for it"""
    mtime: float = 0.0
    skip: str = ""
    """why it cannot be taken at all (a link, a path outside the archive, too large)"""
    local: pathlib.Path | None = None
    """where it can be read (a zip's member: once unpacked)"""
    member: zipfile.ZipInfo | None = None

    @property
    def file(self) -> str:
        return "/".join(shown(p) for p in self.parts)


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} bytes"


def _folder_files(root: pathlib.Path) -> tuple[list[_File], set[tuple[str, ...]]]:
    """Every file below ``root`` (links not followed), and every folder."""
    files, folders = [], set()

    def walk(folder: str, parts: tuple[str, ...]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if not parts:
                raise IntakeError(f"{root} cannot be read: {exc.strerror}") from None
            files.append(_File(parts, skip=f"the folder cannot be read ({exc.strerror})"))
            return
        for e in entries:
            if len(files) >= MAX_FILES:
                raise IntakeError(f"{root} holds more than {MAX_FILES} files: is it the folder of submissions?")
            p = parts + (e.name,)
            if e.is_symlink():
                files.append(_File(p, skip="a symbolic link, not followed"))
            elif e.is_dir(follow_symlinks=False):
                folders.add(p)
                walk(e.path, p)
            elif e.is_file(follow_symlinks=False):
                st = e.stat(follow_symlinks=False)
                f = _File(p, st.st_size, mtime=st.st_mtime, local=pathlib.Path(e.path))
                if st.st_size > MAX_MEMBER_BYTES:
                    f.skip = f"too large ({_mb(st.st_size)}; a file may be {_mb(MAX_MEMBER_BYTES)})"
                files.append(f)
            else:
                files.append(_File(p, skip="not a regular file"))

    walk(str(root), ())
    return files, folders


def _zip_files(zf: zipfile.ZipFile, path) -> tuple[list[_File], set[tuple[str, ...]]]:
    """Every member of the zip, with the reason it cannot be taken, if any (nothing is
    unpacked yet), and every folder."""
    infos = zf.infolist()
    if len(infos) > MAX_FILES:
        raise IntakeError(f"{path} holds {len(infos)} files; at most {MAX_FILES} are read "
                          f"(more than {MAX_FILES} files: is it the zip of submissions?)")
    total = sum(i.file_size for i in infos)  # a member never unpacks to more than it records (zipfile stops there)
    if total > MAX_ZIP_BYTES:
        raise IntakeError(f"{path} would unpack to {_size(total)}; at most {_size(MAX_ZIP_BYTES)} are read")
    files, folders = [], set()
    for info in infos:
        name = info.filename.replace("\\", "/")  # zips made on Windows
        raw = name.split("/")
        parts = tuple(p for p in raw if p not in ("", "."))
        if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in raw:
            files.append(_File((info.filename,), info.file_size, member=info,
                               skip=_ZIP_SLIP))
            continue
        folders.update(parts[:k] for k in range(1, len(parts) + (1 if info.is_dir() else 0)))
        if info.is_dir() or not parts:
            continue
        f = _File(parts, info.file_size, when="%04d-%02d-%02d %02d:%02d:%02d UTC" % info.date_time,
                  mtime=float("%04d%02d%02d%02d%02d%02d" % info.date_time),  # YYYYMMDDhhmmss: sorts by date
                  member=info)
        if stat.S_ISLNK(info.external_attr >> 16):
            f.skip = "a symbolic link, not followed"
        elif info.file_size > MAX_MEMBER_BYTES:
            f.skip = f"too large ({_mb(info.file_size)}; a file may be {_mb(MAX_MEMBER_BYTES)})"
        elif info.flag_bits & 0x1:
            f.skip = "encrypted"
        files.append(f)
    return files, folders


def _unpack(zf: zipfile.ZipFile, f: _File, folder: pathlib.Path, index: int) -> None:
    """Unpack one member into the run's folder under a name of ours (never its own path)."""
    try:
        with zf.open(f.member) as src:
            data = src.read(MAX_MEMBER_BYTES + 1)
    except Exception as exc:  # noqa: BLE001 - zipfile's many ways of refusing a member
        f.skip = f"cannot be unpacked ({type(exc).__name__}: {exc})"[:200]
        return
    if len(data) > MAX_MEMBER_BYTES:
        f.skip = f"too large (over {_mb(MAX_MEMBER_BYTES)} unpacked)"
        return
    f.local = folder / f"{index:05d}.ipynb"
    f.local.write_bytes(data)


# ---------------------------------------------------------------- who and what
def _noise(parts: tuple[str, ...]) -> str:
    """Why a file is not a learner's work whatever its name, or ''."""
    if ".ipynb_checkpoints" in parts:
        return "a Jupyter checkpoint (.ipynb_checkpoints)"
    if "__MACOSX" in parts or parts[-1].startswith("._"):
        return "macOS archive metadata (__MACOSX, ._ files)"
    if any(p.startswith(".") for p in parts):
        return "a hidden file or folder"
    return ""


def _wrapper(files: list[_File], folders: set, prefix: tuple[str, ...]) -> str | None:
    """The one folder below ``prefix`` that holds everything and is no learner's (it holds
    no notebook of the course itself, or only Canvas's flat names), or None."""
    depth = len(prefix)
    tops = {f.parts[depth] for f in files if len(f.parts) > depth + 1} | {p[depth] for p in folders if len(p) > depth}
    if len(tops) != 1 or any(len(f.parts) == depth + 1 for f in files):
        return None
    direct = [f.parts[-1] for f in files if len(f.parts) == depth + 2]
    if all(_CANVAS.match(n) or not match_notebook(n, lms=False)[0] for n in direct):
        return tops.pop()
    return None


@dataclasses.dataclass
class _Candidate:
    file: _File
    rel: str
    """its path in the learner's folder (Canvas: its file name)"""
    rank: tuple
    warning: str
    lms: bool


_RANK_WORDS = ("has the notebook's exact name", "is less deep in the folder", "is a later re-submission",
               "has a later submission number", "is newer")


def _why(graded: _Candidate, other: _Candidate) -> str:
    """Why ``graded`` was preferred to ``other``: the first rule that tells them apart."""
    return next((w for w, a, b in zip(_RANK_WORDS, graded.rank, other.rank) if a != b), "comes first in path order")


def _sha(f: _File) -> str:
    try:
        return hashlib.sha256(f.local.read_bytes()).hexdigest()
    except OSError:
        return ""


def collect(source, workdir: pathlib.Path, timestamps=None) -> Intake:
    """What is in ``source`` (a folder or an LMS zip, unpacked under ``workdir``): a
    submission per learner and chapter, a problem row per learner with no notebook of the
    course, and a row of the intake table for every file. ``timestamps``: the
    instructor's CSV of submission times."""
    path = pathlib.Path(source)
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise IntakeError(f"{path} cannot be read as a zip file: {exc}") from None
        with zf:
            files, folders = _zip_files(zf, path)
            intake = _choose(files, folders, lambda fs: _unpack_all(zf, fs, workdir))
    elif path.is_dir():
        files, folders = _folder_files(path)
        intake = _choose(files, folders, lambda fs: None)
    else:
        raise IntakeError(f"{path} is neither a folder of submissions nor a zip file")
    if timestamps:
        given = read_timestamps(timestamps)
        learners = {s.student for s in intake.submissions}
        for s in intake.submissions:
            s.timestamp = given.get((s.student, s.chapter.assignment)) or given.get((s.student, "")) or s.timestamp
        unknown = sorted({student for student, _ in given} - learners)
        if unknown:
            log.warning("--timestamps names %d students with no submission here: %s", len(unknown),
                        ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else ""))
    return intake


def _unpack_all(zf: zipfile.ZipFile, files: list[_File], workdir: pathlib.Path) -> None:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="zip-", dir=workdir))
    for i, f in enumerate(files):
        _unpack(zf, f, folder, i)


def _choose(files: list[_File], folders: set, unpack) -> Intake:
    """The intake of ``files`` (``unpack(files)`` makes each candidate notebook readable)."""
    # an archive that wraps everything in one top folder (or several nested)
    prefix: tuple[str, ...] = ()
    kept = [f for f in files if f.skip != _ZIP_SLIP and not _noise(f.parts)]
    while (top := _wrapper(kept, {p for p in folders if not _noise(p)}, prefix)) is not None:
        prefix += (top,)
    rows: list[IntakeRow] = []
    learners: dict[str, dict] = {}  # id -> {"name": ..., "lms_id": ...}
    candidates: dict[tuple[str, str], list[_Candidate]] = {}

    def learner(given: str, lms_id: str = "") -> tuple[str, dict]:
        sid = student_id(lms_id or given)
        return sid, learners.setdefault(sid, {"name": unicodedata.normalize("NFC", shown(given)), "lms_id": lms_id})

    for folder in sorted(folders):  # a learner's folder, even an empty one
        if len(folder) == len(prefix) + 1 and folder[:-1] == prefix and not _noise(folder[-1:]):
            learner(folder[-1])
    for f in files:
        parts = f.parts[len(prefix):] if f.parts[: len(prefix)] == prefix else f.parts
        canvas = _CANVAS.match(parts[0]) if len(parts) == 1 else None
        reason = f.skip or _noise(parts)
        if f.skip == _ZIP_SLIP or _noise(parts[:1]) or (len(parts) == 1 and not canvas):  # no one's
            rows.append(IntakeRow(f.file, Outcome.IGNORED, reason or (
                "a file at the top of the submissions whose name is not Canvas's "
                "(<name>_<user id>_<submission id>_<file>): whose it is cannot be told")))
            continue
        sid, who = learner(canvas["name"], canvas["user"]) if canvas else learner(parts[0])
        name = canvas["file"] if canvas else parts[-1]
        ch, warning = match_notebook(name, lms=bool(canvas)) if not reason else (None, "")
        if not reason and ch is None:
            reason = ("written by the learner; submission times come from the LMS or --timestamps"
                      if name == "timestamp.txt" else _NOT_OURS)
        if reason:
            rows.append(IntakeRow(f.file, Outcome.IGNORED, reason, sid, who["name"]))
            continue
        if canvas:
            rank = (not warning, 0, resubmission(name), int(canvas["sub"]), f.mtime)
            rel = shown(parts[0])
        else:
            rank = (not warning, -len(parts), 0, 0, f.mtime)
            rel = "/".join(shown(p) for p in parts[1:])
        candidates.setdefault((sid, ch.assignment), []).append(_Candidate(f, rel, rank, warning, bool(canvas)))

    unpack([c.file for cs in candidates.values() for c in cs])
    subs = []
    for (sid, assignment), cs in sorted(candidates.items()):
        who, ch = learners[sid], course.by_assignment(assignment)
        for c in cs:
            if c.file.skip:  # could not be unpacked
                rows.append(IntakeRow(c.file.file, Outcome.IGNORED, c.file.skip, sid, who["name"], assignment))
        cs = sorted((c for c in cs if not c.file.skip), key=lambda c: c.file.parts)
        if not cs:
            continue
        best = max(cs, key=lambda c: c.rank)  # the first in path order among equals
        others = [c for c in cs if c is not best]
        digest = _sha(best.file) if others else ""
        differing = []
        for c in others:
            same = bool(digest) and _sha(c.file) == digest
            why = f"{best.rel} {_why(best, c)}" + (" (same content)" if same else "")
            rows.append(IntakeRow(c.file.file, Outcome.SUPERSEDED, why, sid, who["name"], assignment, best.file.file))
            # the LMS's own earlier re-submissions of the file are expected, not a warning
            if not same and not (c.lms and best.lms and c.rank[0] == best.rank[0]):
                differing.append(c)
        rows.append(IntakeRow(best.file.file, Outcome.GRADED, "", sid, who["name"], assignment))
        warnings = [best.warning] if best.warning else []
        if differing:
            runner_up = max(differing, key=lambda c: c.rank)
            warnings.append(f"{len(others) + 1} notebooks of {assignment} were found: graded {best.rel!r}, which "
                            f"{_why(best, runner_up)}; not " + ", ".join(repr(c.rel) for c in differing)
                            + " (see intake.csv)")
        subs.append(Submission(sid, ch, best.file.local, best.file.when, warnings, lms_id=who["lms_id"],
                               name=who["name"], source=best.file.file))

    expected = ", ".join(c.path.name for c in course.chapters())
    problems = []
    graded = {s.student for s in subs}
    rows_of: dict[str, list[IntakeRow]] = {}
    for r in rows:
        rows_of.setdefault(r.student, []).append(r)
    for sid, who in sorted(learners.items()):
        if sid in graded:
            continue
        mine = rows_of.get(sid, [])
        found = ", ".join(r.file.rsplit("/", 1)[-1] + (f" ({r.reason})" if r.reason != _NOT_OURS else "")
                          for r in mine[:5]) or "nothing"
        more = f" and {len(mine) - 5} more" if len(mine) > 5 else ""
        problems.append(Result(sid, None, Status.UNREADABLE, lms_id=who["lms_id"], name=who["name"],
                               message=f"no notebook of this course found (found: {found}{more}; "
                                       f"expected one of: {expected})"))
    stamped = sum(1 for r in rows if r.reason.startswith("written by the learner"))
    if stamped:
        log.warning("%d submissions hold a timestamp.txt; it was ignored (a learner can write it): give the "
                    "submission times with --timestamps, or grade the LMS's zip", stamped)
    rows.sort(key=lambda r: r.file)
    return Intake(subs, problems, rows)


def read_timestamps(path) -> dict[tuple[str, str], str]:
    """(student id, chapter or '') -> timestamp, from the instructor's CSV: its
    ``student_id`` is the learner as the submissions name them (the folder name as given,
    or the Canvas user id), normalised as intake normalises them (``student_id``)."""
    out = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            student, stamp = row.get("student_id") or "", (row.get("timestamp") or "").strip()
            if student and stamp:
                out[(student_id(student), (row.get("chapter") or "").strip())] = stamp
    return out
