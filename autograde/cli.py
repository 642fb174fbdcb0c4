"""The instructor's command line: ``python -m autograde <command>``.

    release                 assemble the nbgrader sources and generate the student notebooks
    grade SUBMISSIONS       grade a folder <student>/<notebook>.ipynb, or an LMS zip;
                            writes grades.csv and one feedback HTML per submission
    feedback                regenerate the feedback HTML of everything graded
    export                  write grades.csv (and copy the feedback) from the gradebook
    sync                    (maintainers) refresh the nbgrader metadata of chapters/ from
                            a fresh round trip, after editing a chapter

Every command takes --course DIR (default _course), the nbgrader course directory.
"""
from __future__ import annotations

import argparse
import logging
import pathlib
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--course", default="_course", help="nbgrader course directory (default: _course)")
    parser.add_argument("--db-url", default=None, help="gradebook database URL (default: sqlite in the course directory)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print warnings and the summary only")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="generate the student notebooks in <course>/release")
    g = sub.add_parser("grade", help="grade a folder or zip of submissions")
    g.add_argument("submissions", help="folder laid out <student_id>/<notebook>.ipynb, or an LMS zip of them")
    g.add_argument("--out", default=None, help="where to write grades.csv and feedback/ (default: <course>/export)")
    sub.add_parser("feedback", help="regenerate the feedback HTML of every graded submission")
    e = sub.add_parser("export", help="write grades.csv from the gradebook")
    e.add_argument("--out", default=None, help="output folder (default: <course>/export)")
    sub.add_parser("sync", help="maintainers: refresh chapters/ nbgrader metadata from a round trip")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    # nbgrader's own loggers are chatty; keep their warnings and errors only
    for name in ("traitlets", "nbgrader"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from autograde.grading import Course

    c = Course(args.course, args.db_url)
    if args.command == "release":
        for path in c.release():
            print(path)
    elif args.command == "grade":
        results = c.grade(args.submissions, args.out)
        out = pathlib.Path(args.out or c.root / "export")
        _summary(results)
        print(f"grades: {out / 'grades.csv'}")
        print(f"feedback: {out / 'feedback'}")
    elif args.command == "feedback":
        for path in c.feedback():
            print(path)
    elif args.command == "export":
        print(c.export(args.out))
    elif args.command == "sync":
        from autograde.roundtrip import sync_chapters

        for path in sync_chapters():
            print(f"updated {path}")
    return 0


def _summary(results) -> None:
    from collections import Counter

    counts = Counter(r.status for r in results)
    print(f"{len(results)} submissions: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for r in results:
        if r.status != "graded":
            print(f"  {r.student} {r.chapter.notebook}: {r.status}: {r.message}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
