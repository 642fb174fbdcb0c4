"""What the instructor sees after grading: a summary table and a class report.

The report is one self-contained HTML file (plots embedded, no script), made from a
Jinja2 template with autoescaping: every student id, file name and message is escaped.
Per chapter it shows the distribution of scores, the pass rate of every exercise, and
the hidden checks' most frequent diagnoses (the checks' own words only), so the
instructor knows what to teach again.
"""
from __future__ import annotations

import base64
import collections
import io
import pathlib

import jinja2

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


def _plot(graded) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
    max_score = max(r.max_score for r in graded) or 1
    ax1.hist([r.score for r in graded], bins=min(20, int(max_score) + 1), range=(0, max_score),
             color="#4c78a8", edgecolor="white")
    ax1.set_xlabel("score")
    ax1.set_ylabel("submissions")
    ax1.set_title("Score distribution")
    names = list(dict.fromkeys(k for r in graded for k in r.exercises))
    full = {k: max((r.points.get(k) or 0) for r in graded) or 1 for k in names}
    rates = [sum(1 for r in graded if (r.exercises.get(k) or 0) >= full[k]) / len(graded) for k in names]
    ax2.barh(names, rates, color="#59a14f")
    ax2.set_xlim(0, 1)
    ax2.invert_yaxis()
    ax2.set_xlabel("share of submissions with full points")
    ax2.set_title("Pass rate per exercise")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def write_report(results, path) -> pathlib.Path:
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
                         "plot": _plot(graded) if graded else "", "diagnoses": diagnoses.most_common(10),
                         "statuses": collections.Counter(str(r.status) for r in rs).most_common()})
    problems = [r for r in results if Status(r.status) != Status.GRADED]
    page = _ENV.get_template("report.html.j2").render(summary=summary_table(results), chapters=chapters,
                                                       problems=problems)
    path.write_text(page)
    return path
