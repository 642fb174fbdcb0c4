"""What the instructor sees after grading: a summary table and a class report.

The report (one self-contained HTML file, plots embedded) shows, per chapter, the
distribution of scores, the pass rate of every exercise, and the hidden checks'
most frequent diagnoses, so the instructor knows what to teach again.
"""
from __future__ import annotations

import base64
import collections
import html
import io
import pathlib

from autograde.pipeline import STATUSES


def summary_table(results) -> str:
    """Counts per status, overall and per chapter, and the mean score per chapter."""
    chapters = sorted({r.chapter.assignment for r in results if r.chapter}) + (["-"] if any(r.chapter is None for r in results) else [])
    head = ["chapter", *STATUSES, "mean score"]
    rows = []
    for ch in chapters:
        sel = [r for r in results if (r.chapter.assignment if r.chapter else "-") == ch]
        counts = collections.Counter(r.status for r in sel)
        graded = [r for r in sel if r.chapter and r.max_score]
        mean = (f"{sum(r.score for r in graded) / len(graded):.1f} / {graded[0].max_score:g}" if graded else "")
        rows.append([ch, *[str(counts.get(s, 0)) for s in STATUSES], mean])
    counts = collections.Counter(r.status for r in results)
    rows.append(["all", *[str(counts.get(s, 0)) for s in STATUSES], ""])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])] + [fmt.format(*r) for r in rows]
    late = [r for r in results if getattr(r, "seconds_late", 0) > 0]
    if late:
        lines.append(f"late submissions: {len(late)} (" + ", ".join(
            f"{r.student} {r.chapter.assignment} ({r.seconds_late / 3600:.1f} h)" for r in late[:10])
            + (" ..." if len(late) > 10 else "") + ")")
    return "\n".join(lines)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return '<img alt="plot" src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode() + '">'


def write_report(results, path) -> pathlib.Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report</title>",
             "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
             "th{background:#eef}</style></head><body><h1>Class report</h1>",
             f"<pre>{html.escape(summary_table(results))}</pre>"]
    by_chapter = collections.defaultdict(list)
    for r in results:
        if r.chapter is not None:
            by_chapter[r.chapter].append(r)
    for ch in sorted(by_chapter, key=lambda c: c.number):
        rs = by_chapter[ch]
        graded = [r for r in rs if r.status != "unreadable"]
        parts.append(f"<h2>{html.escape(ch.assignment)}: {html.escape(ch.notebook)} ({len(rs)} submissions)</h2>")
        if graded:
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
            max_score = max(r.max_score for r in graded) or 1
            ax1.hist([r.score for r in graded], bins=min(20, int(max_score) + 1), range=(0, max_score),
                     color="#4c78a8", edgecolor="white")
            ax1.set_xlabel("score")
            ax1.set_ylabel("submissions")
            ax1.set_title("Score distribution")
            names = sorted({k for r in graded for k in r.exercises}, key=lambda k: list(graded[0].exercises).index(k)
                           if k in graded[0].exercises else 99)
            full = {k: max(r.exercises.get(k, 0) or 0 for r in graded) or 1 for k in names}
            rates = [sum(1 for r in graded if (r.exercises.get(k) or 0) >= full[k]) / len(graded) for k in names]
            ax2.barh(names, rates, color="#59a14f")
            ax2.set_xlim(0, 1)
            ax2.invert_yaxis()
            ax2.set_xlabel("share of submissions with full points")
            ax2.set_title("Pass rate per exercise")
            parts.append(_png(fig))
            plt.close(fig)
        diag = collections.Counter(d for r in rs for d in getattr(r, "diagnoses", []))
        if diag:
            parts.append("<h3>Most frequent diagnosed mistakes</h3><table><tr><th>submissions</th><th>exercise: what it looks like</th></tr>")
            parts += [f"<tr><td>{n}</td><td>{html.escape(d)}</td></tr>" for d, n in diag.most_common(10)]
            parts.append("</table>")
        statuses = collections.Counter(r.status for r in rs)
        parts.append("<p>" + ", ".join(f"{n} {html.escape(s)}" for s, n in statuses.items()) + "</p>")
    problems = [r for r in results if r.status != "graded"]
    if problems:
        parts.append("<h2>Submissions that need a look</h2><table><tr><th>student</th><th>notebook</th><th>status</th><th>message</th></tr>")
        parts += [f"<tr><td>{html.escape(r.student)}</td><td>{html.escape(r.chapter.notebook if r.chapter else '-')}</td>"
                  f"<td>{html.escape(r.status)}</td><td>{html.escape(r.message)}</td></tr>" for r in problems]
        parts.append("</table>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts))
    return path
