"""What the instructor sees after grading: a summary table and a class report.

The report is one self-contained HTML file (no script, no image: its bar charts are
tables with the numbers in them), made from a Jinja2 template with autoescaping: every
student id, file name and message is escaped. Per chapter it shows the distribution of
scores, the pass rate of every exercise, and the hidden checks' most frequent diagnoses
(the checks' own words only), so the instructor knows what to teach again; then what
intake did with the input's files (intake.csv has every one): how many were graded,
superseded or ignored, and why, and each superseded or ignored file.
"""
from __future__ import annotations

import collections
import pathlib

import jinja2

from autograde.records import Outcome
from autograde.status import STATUSES, Status

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("autograde.outputs", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)


def summary_table(results) -> str:
    """Counts per status, overall and per chapter, and the mean score per chapter."""
    names = sorted({r.chapter.assignment for r in results if r.chapter})
    chapters = names + (["-"] if any(r.chapter is None for r in results) else [])
    head = ["chapter", *(s.value for s in STATUSES), "mean score"]
    rows = []
    for ch in chapters:
        sel = [r for r in results if (r.chapter.assignment if r.chapter else "-") == ch]
        counts = collections.Counter(Status(r.status) for r in sel)
        graded = [r for r in sel if r.chapter and r.max_score]
        mean = f"{sum(r.score for r in graded) / len(graded):.1f} / {graded[0].max_score:g}" if graded else ""
        rows.append([ch, *[str(counts.get(s, 0)) for s in STATUSES], mean])
    counts = collections.Counter(Status(r.status) for r in results)
    rows.append(["all", *[str(counts.get(s, 0)) for s in STATUSES], ""])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])] + [fmt.format(*r) for r in rows]
    late = [r for r in results if r.seconds_late > 0]
    if late:
        lines.append(f"late submissions: {len(late)} (" + ", ".join(
            f"{r.student} {r.chapter.assignment} ({r.seconds_late / 3600:.1f} h)" for r in late[:10])
            + (" ..." if len(late) > 10 else "") + ")")
    return "\n".join(lines)


def _distribution(graded) -> list[dict]:
    """Submissions per score, in up to ten bins from 0 to the maximum."""
    max_score = max(r.max_score for r in graded) or 1
    bins = min(10, int(max_score) + 1)
    width = max_score / bins
    counts = [0] * bins
    for r in graded:
        counts[min(int(r.score / width), bins - 1)] += 1
    top = max(counts) or 1
    return [{"label": f"{k * width:g} to {(k + 1) * width:g}" if width != 1 else f"{k:g}", "count": n,
             "percent": round(100 * n / top)} for k, n in enumerate(counts)]


def _pass_rates(graded) -> list[dict]:
    """Per exercise, the share of submissions with its full points."""
    names = list(dict.fromkeys(k for r in graded for k in r.exercises))
    rates = []
    for name in names:
        full = max((r.points.get(name) or 0) for r in graded) or 1
        share = sum(1 for r in graded if (r.exercises.get(name) or 0) >= full) / len(graded)
        rates.append({"name": name, "percent": round(100 * share)})
    return rates


MAX_INTAKE_ROWS = 2000  # files listed one by one in the report (intake.csv has them all)


def _intake(rows) -> dict:
    """What intake did: counts per outcome and reason, and the files not graded."""
    counts = collections.Counter((str(r.outcome), r.reason if r.outcome != Outcome.SUPERSEDED else "")
                                 for r in rows)
    listed = [r for r in rows if r.outcome != Outcome.GRADED]
    return {"counts": sorted(counts.items(), key=lambda kv: (kv[0][0] != "graded", -kv[1], kv[0])),
            "rows": listed[:MAX_INTAKE_ROWS], "more": max(0, len(listed) - MAX_INTAKE_ROWS), "total": len(rows)}


def _similar_link(report_path: pathlib.Path, entry) -> dict | None:
    """The link to a chapter's similarity page, relative to the report, and its pair count."""
    if not entry:
        return None
    page, pairs = entry
    try:
        href = pathlib.Path(page).resolve().relative_to(report_path.parent.resolve()).as_posix()
    except ValueError:
        href = pathlib.Path(page).resolve().as_uri()
    return {"href": href, "pairs": len(pairs)}


def write_report(results, path, intake=(), similar=None, late_changes=(), regraded=None) -> pathlib.Path:
    """The class report (``intake``: the ``IntakeRow`` of every file of the input;
    ``similar``: chapter -> (similarity page, flagged pairs), ``outputs.similarity``;
    ``late_changes``: the final scores a change of the late rules moved, ``policies.Change``;
    ``regraded``: after ``grade --regrade``, the exercise scores it moved)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    by_chapter = collections.defaultdict(list)
    for r in results:
        if r.chapter is not None:
            by_chapter[r.chapter].append(r)
    chapters = []
    for ch in sorted(by_chapter, key=lambda c: c.number):
        rs = by_chapter[ch]
        graded = [r for r in rs if Status(r.status) != Status.UNREADABLE]
        diagnoses = collections.Counter(d for r in rs for d in r.diagnoses)
        chapters.append({"assignment": ch.assignment, "notebook": ch.notebook, "count": len(rs),
                         "distribution": _distribution(graded) if graded else [],
                         "pass_rates": _pass_rates(graded) if graded else [],
                         "diagnoses": diagnoses.most_common(10),
                         "statuses": collections.Counter(str(r.status) for r in rs).most_common(),
                         "similar": _similar_link(path, (similar or {}).get(ch.assignment))})
    problems = [r for r in results if Status(r.status) != Status.GRADED]
    page = _ENV.get_template("report.html.j2").render(summary=summary_table(results), chapters=chapters,
                                                       problems=problems, intake=_intake(intake),
                                                       late=[r for r in results if r.late],
                                                       late_changes=list(late_changes),
                                                       regraded=regraded)
    path.write_text(page)
    return path
