"""The instructor's command line: ``python -m autograde <command>``.

    release                 assemble the nbgrader sources and generate the student notebooks
    grade SUBMISSIONS       grade a folder <student>/<notebook>.ipynb, or an LMS zip;
                            writes grades.csv, intake.csv, report.html and one feedback
                            page per submission
    grade --regrade chNN    grade the stored originals of chNN again (after the hidden
                            checks changed); regrade.csv says which scores moved and why
    feedback                regenerate the feedback pages of everything graded
    similarity              pages of the learners whose exercise code is unusually alike,
                            per chapter, from the stored originals (also made by grade)
    late                    apply the late rules of <course>/policies.toml again to every
                            graded submission (no notebook runs) and say whose grade moved
    export                  write grades.csv (and copy the feedback) from the gradebook, or
                            with --format canvas|moodle that LMS's gradebook-import file
    serve                   the submission service: learners submit over HTTP and get the
                            verdict in seconds (binds 127.0.0.1:8000 unless --host/--port)
    tokens ROSTER.csv       a token per learner of the roster (and --instructor NAME), written
                            to --out; the service keeps only their hashes
    sync                    (maintainers) refresh the nbgrader metadata of chapters/ from
                            a fresh round trip, after editing a chapter

Every command takes --course DIR (default _course), the nbgrader course directory.
"""
from __future__ import annotations

import argparse
import logging
import pathlib
import sys
import time

from autograde.settings import GradeSettings


def _common(after_command: bool) -> argparse.ArgumentParser:
    """The options every command takes; they work before or after the command (after it,
    they only override what was given before)."""
    keep = {"default": argparse.SUPPRESS} if after_command else {}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", help="nbgrader course directory (default: _course)",
                        **(keep or {"default": "_course"}))
    common.add_argument("--db-url", help="gradebook URL, e.g. postgresql://user@host/db (default: sqlite in the "
                                         "course directory); kept in the course's nbgrader_config.py once given",
                        **(keep or {"default": None}))
    common.add_argument("-q", "--quiet", action="store_true", help="print warnings and the summary only", **keep)
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common(after_command=True)
    parser = argparse.ArgumentParser(prog="python -m autograde", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__,
                                     parents=[_common(after_command=False)])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", parents=[common], help="generate the student notebooks in <course>/release")
    g = sub.add_parser("grade", parents=[common], help="grade a folder or zip of submissions")
    g.add_argument("submissions", nargs="?",
                   help="folder laid out <student_id>/<notebook>.ipynb, or an LMS zip of them")
    g.add_argument("--regrade", nargs="+", metavar="chNN", default=None,
                   help="instead of SUBMISSIONS: grade every stored original of these chapters again (after the "
                        "hidden checks changed); manual grades are kept; regrade.csv says what moved and why")
    g.add_argument("--out", default=None, help="where to write grades.csv, report.html and feedback/ (default: <course>/export)")
    GradeSettings.add_arguments(g, ["workers", "scheduler", "cell_timeout", "notebook_timeout", "mem_limit",
                                    "max_output_bytes", "force", "figures"])
    g.add_argument("--due", default=None, help="due date, e.g. '2026-12-01 23:59:00 UTC'; late submissions are reported")
    g.add_argument("--timestamps", default=None,
                   help="CSV of submission times (columns student_id, timestamp, and optionally chapter), "
                        "for a folder of submissions; an LMS zip carries its own")
    sub.add_parser("feedback", parents=[common], help="regenerate the feedback pages of every graded submission")
    m = sub.add_parser("similarity", parents=[common], help="pages of learners whose code is unusually alike")
    m.add_argument("chapters", nargs="*", help="only these chapters (e.g. ch04; default: all graded)")
    m.add_argument("--out", default=None, help="output folder (default: <course>/export); pages in <out>/similarity/")
    m.add_argument("--threshold", type=float, default=None,
                   help="share of one learner's own code found in the other's to list a pair (default 0.8)")
    m.add_argument("--min-tokens", type=int, default=None,
                   help="normalised characters in common to list a pair (default 120)")
    la = sub.add_parser("late", parents=[common], help="apply policies.toml's late rules again; say what moved")
    la.add_argument("--out", default=None, help="where to write grades.csv and report.html again (default: <course>/export)")
    e = sub.add_parser("export", parents=[common], help="write grades.csv from the gradebook")
    e.add_argument("--out", default=None, help="output folder (default: <course>/export)")
    e.add_argument("--format", choices=["grades", "canvas", "moodle"], default="grades",
                   help="grades: grades.csv and the feedback pages (default); canvas, moodle: that LMS's "
                        "gradebook-import file (canvas.csv, moodle.csv), one column per chapter")
    sv = sub.add_parser("serve", parents=[common], help="the submission service (HTTP; see the README)")
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to bind (default 127.0.0.1: this machine only; put a TLS reverse proxy in front)")
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    GradeSettings.add_arguments(sv, ["workers", "scheduler", "cell_timeout", "notebook_timeout", "mem_limit"])
    sv.add_argument("--max-queue", type=int, default=5000, help="queued submissions beyond which uploads get 503 (default 5000)")
    t = sub.add_parser("tokens", parents=[common], help="a token per learner of a roster; the service keeps hashes")
    t.add_argument("roster", nargs="?", help="CSV with a student_id column (more columns may follow)")
    t.add_argument("--out", required=True, help="where to write student_id,token (mode 0600)")
    t.add_argument("--instructor", action="append", default=[], metavar="NAME",
                   help="also make an instructor's token for NAME (may be repeated)")
    y = sub.add_parser("sync", parents=[common], help="maintainers: refresh chapters/ nbgrader metadata from a round trip")
    y.add_argument("chapters", nargs="*", help="only these chapters (e.g. ch04 ch05; default: all)")
    return parser


def _grade(course_dir, args) -> int:
    from autograde import course, policies
    from autograde.execution.cluster import start_in_background
    from autograde.execution.sandbox import preflight

    if bool(args.submissions) == bool(args.regrade):
        sys.exit("grade: give SUBMISSIONS, or --regrade chNN ... (not both)")
    unknown = sorted(set(args.regrade or []) - {ch.assignment for ch in course.chapters()})
    if unknown:
        sys.exit(f"grade --regrade: no chapter {unknown[0]!r} in this course")
    from autograde.settings import GradeSettings

    if not args.scheduler:  # (a cluster's workers check their own machines as they warm up)
        problem = preflight()
        if problem:
            sys.exit(f"cannot grade: {problem}")
    # the workers warm up while we read
    starting = start_in_background(args.workers, args.scheduler, GradeSettings.worker_memory)
    from autograde.coordinator import Grader
    from autograde.execution.syscalls import MEMORY_MECHANISM
    from autograde.outputs.report import summary_table
    from autograde.status import Status

    try:  # a broken policies.toml stops the run before any grading, not after
        policies.load(course_dir.root, [ch.assignment for ch in course.chapters()])
    except policies.PolicyError as exc:
        sys.exit(f"cannot grade: {exc}")
    if args.timestamps and not pathlib.Path(args.timestamps).is_file():
        sys.exit(f"--timestamps: no such file {args.timestamps}")
    due = None
    if args.due:
        from nbgrader.utils import parse_utc

        due = parse_utc(args.due)
    settings = GradeSettings.from_arguments(args, progress=not args.quiet)
    started = time.monotonic()
    grader = Grader(course_dir, settings)
    from autograde.intake.collect import IntakeError

    moved = None
    try:
        if args.regrade:
            results, moved = grader.regrade(args.regrade, args.out, starting)
        else:
            results = grader.grade(args.submissions, args.out, due, args.timestamps, starting)
    except IntakeError as exc:
        sys.exit(f"cannot grade: {exc}")
    out = pathlib.Path(args.out or course_dir.root / "export")
    print(summary_table(results))
    print(f"{len(results)} submissions in {time.monotonic() - started:.1f} s ("
          + ", ".join(f"{k} {v:.1f} s" for k, v in grader.timing.items()) + ")")
    print(f"grades:   {grader.outputs['grades']}")
    print(f"intake:   {grader.outputs['intake']}")
    if moved is not None:
        print(f"regrade:  {len(moved)} exercise scores changed: {grader.outputs['regrade']}")
        for m in moved[:20]:
            print(f"  {m['student']} {m['chapter']} {m['exercise']}: {m['old']} -> {m['new']}")
    print(f"report:   {grader.outputs['report']}")
    print(f"feedback: {out / 'feedback'}")
    print(f"sandbox memory: {MEMORY_MECHANISM}, {args.mem_limit:g} GiB" if args.mem_limit
          else f"sandbox memory: no limit (--mem-limit 0); {MEMORY_MECHANISM}")
    for r in results:
        if r.status != Status.GRADED:
            print(f"  {r.student} {r.chapter.notebook if r.chapter else '-'}: {r.status}: {r.message}", file=sys.stderr)
    return 0


def _late(course_dir, args) -> int:
    from autograde import policies
    from autograde.coordinator import Grader

    grader = Grader(course_dir)
    try:
        results = grader.late(args.out)
    except policies.PolicyError as exc:
        sys.exit(f"cannot apply the late rules: {exc}")
    moved = grader.late_changes
    late = [r for r in results if r.late]
    print(f"{len(results)} graded submissions, {len(late)} late, {len(moved)} final scores changed")
    for m in moved:
        print(f"  {m.student} {m.assignment}: {m.old:g} -> {m.new:g} ({m.now or 'on time'}; was: {m.was or 'on time'})")
    print(f"grades:   {grader.outputs['grades']}")
    print(f"report:   {grader.outputs['report']}")
    return 0


def _serve(course_dir, args) -> int:
    import uvicorn

    from autograde import course, policies
    from autograde.service import app
    from autograde.settings import GradeSettings

    try:
        policies.load(course_dir.root, [ch.assignment for ch in course.chapters()])
    except policies.PolicyError as exc:
        sys.exit(f"cannot serve: {exc}")
    settings = GradeSettings.from_arguments(args, progress=False)
    svc = app.make_service(course_dir, settings)
    svc.max_queue = args.max_queue
    print(f"serving {course_dir.root} on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(app.build(svc), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _tokens(course_dir, args) -> int:
    from autograde.service import store, tokens

    if not args.roster and not args.instructor:
        sys.exit("tokens: give ROSTER.csv, or --instructor NAME, or both")
    try:
        students = tokens.read_roster(args.roster) if args.roster else []
    except (OSError, tokens.RosterError) as exc:
        sys.exit(f"tokens: {exc}")
    course_dir.root.mkdir(parents=True, exist_ok=True)
    s = store.Store(store.service_url(course_dir.root, course_dir.gradebook_url), course_dir.root)
    rows = tokens.issue(s, students) + tokens.issue(s, args.instructor, tokens.INSTRUCTOR)
    s.close()
    print(f"{len(students)} learner and {len(args.instructor)} instructor tokens: {tokens.write_tokens(rows, args.out)} "
          "(hand each learner their own; the service keeps only hashes)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    for name in ("traitlets", "nbgrader"):  # nbgrader's own loggers are chatty
        logging.getLogger(name).setLevel(logging.WARNING)

    from autograde.nbgrader_glue.coursedir import Course

    c = Course(args.course, args.db_url)
    if args.command == "release":
        for path in c.release():
            print(path)
    elif args.command == "grade":
        return _grade(c, args)
    elif args.command == "feedback":
        from autograde.coordinator import Grader

        for path in Grader(c).regenerate_feedback():
            print(path)
    elif args.command == "late":
        return _late(c, args)
    elif args.command == "similarity":
        from autograde.coordinator import Grader

        out = pathlib.Path(args.out or c.root / "export")
        pages = Grader(c).similar_code(out, args.chapters or None, args.threshold, args.min_tokens)
        for assignment, (page, pairs) in pages.items():
            print(f"{assignment}: {len(pairs)} pairs flagged: {page}")
        if not pages:
            print("no chapter has two stored submissions to compare")
    elif args.command == "export":
        from autograde.coordinator import Grader

        print(Grader(c).export(args.out, lms=None if args.format == "grades" else args.format))
    elif args.command == "serve":
        return _serve(c, args)
    elif args.command == "tokens":
        return _tokens(c, args)
    elif args.command == "sync":
        from autograde.nbgrader_glue.roundtrip import sync_chapters

        for path in sync_chapters(args.chapters or None):
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
