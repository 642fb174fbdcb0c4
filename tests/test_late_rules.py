"""The late rules (autograde.policies): penalties computed by hand, grace days spent in
due-date order across chapters, extensions, the cap, a clear message for every mistake in
policies.toml, and the report of what a change of the rules moved."""
from __future__ import annotations

import datetime

import pytest

from autograde import policies
from autograde.policies import Entry, PolicyError

UTC = datetime.UTC
DUE = datetime.datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


def rules(text: str):
    return policies.parse(text, ["ch02", "ch03", "ch04", "ch05"])


BASE = """
[late]
grace_minutes = 15
penalty_per_day = 10
penalty_cap = 25
"""


def one(p, stamp, score=8.0, assignment="ch04", student="ana", due=DUE):
    [late] = policies.late(p, [Entry(student, assignment, int(assignment[2:]), score, stamp, due)])
    return late


def test_on_time_within_the_grace_period_and_just_after_it():
    p = rules(BASE)
    assert one(p, DUE - H).penalty == 0 and one(p, DUE - H).reason == "on time"
    within = one(p, DUE + datetime.timedelta(minutes=14))
    assert within.penalty == 0 and "grace period" in within.reason
    after = one(p, DUE + datetime.timedelta(minutes=16))  # a part of a day counts as a day
    assert (after.days_late, after.percent, after.penalty, after.final) == (1, 10, 0.8, 7.2)
    assert after.reason == "1 day late; 1 day at 10 % = 10 % of 8 points"


def test_days_are_counted_up_and_the_cap_holds():
    p = rules(BASE)
    two = one(p, DUE + D + H)
    assert (two.days_late, two.percent, two.penalty) == (2, 20, 1.6)
    five = one(p, DUE + 4 * D + H)
    assert (five.days_late, five.percent, five.penalty, five.final) == (5, 25, 2.0, 6.0)
    assert "(the cap)" in five.reason
    assert one(p, DUE + 4 * D + H, score=0.0).penalty == 0  # nothing earned, nothing to take


def test_a_chapter_rule_overrides_the_course_default_and_brings_its_due_date():
    p = rules(BASE + """
[late.chapters.ch05]
due = 2026-12-08T12:00:00Z
penalty_per_day = 50
penalty_cap = 100
""")
    own_due = datetime.datetime(2026, 12, 8, 12, tzinfo=UTC)
    late = one(p, own_due + H, assignment="ch05", due=None)  # no --due: the file's date counts
    assert (late.percent, late.penalty) == (50, 4.0)
    # the file's due date wins over the gradebook's
    assert one(p, own_due - H, assignment="ch05", due=DUE).penalty == 0
    # other chapters keep the default rule
    assert one(p, DUE + H).percent == 10


def test_extensions_by_date_or_by_days():
    p = rules(BASE + """
[late.extensions.ana]
ch04 = 2026-12-03T23:59:00Z
[late.extensions.ben]
ch04 = 2
""")
    assert one(p, DUE + 2 * D - H).penalty == 0
    assert one(p, DUE + 2 * D + H).days_late == 1
    assert one(p, DUE + 2 * D - H, student="ben").penalty == 0
    assert one(p, DUE + 2 * D - H, student="cleo").days_late == 2  # no extension for cleo


def test_grace_days_are_one_budget_spent_in_due_date_order():
    p = rules(BASE.replace("penalty_cap = 25", "penalty_cap = 100") + "grace_days = 2\n" + """
[late.chapters.ch03]
due = 2026-11-20T23:59:00Z
""")
    early = datetime.datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
    entries = [  # listed in chapter order; ch03 is due first, ch02 and ch04 on DUE
        Entry("ana", "ch02", 2, 10.0, DUE + 2 * D + H, DUE),  # 3 days late
        Entry("ana", "ch03", 3, 10.0, early + D + H, DUE),  # 2 days late, due first: takes both grace days
        Entry("ana", "ch04", 4, 10.0, DUE + H, DUE),  # 1 day late
        Entry("ben", "ch04", 4, 10.0, DUE + H, DUE),  # ben's budget is his own
    ]
    got = {(a.student, a.assignment): a for a in policies.late(p, entries)}
    assert (got[("ana", "ch03")].grace_days_used, got[("ana", "ch03")].penalty) == (2, 0)
    assert "2 grace days used (0 left)" in got[("ana", "ch03")].reason
    assert (got[("ana", "ch02")].grace_days_used, got[("ana", "ch02")].percent) == (0, 30)
    assert (got[("ana", "ch04")].grace_days_used, got[("ana", "ch04")].percent) == (0, 10)
    assert (got[("ben", "ch04")].grace_days_used, got[("ben", "ch04")].penalty) == (1, 0)


def test_a_budget_smaller_than_the_lateness_covers_part_of_it():
    p = rules(BASE.replace("penalty_cap = 25", "penalty_cap = 100") + "grace_days = 1\n")
    late = one(p, DUE + 2 * D + H)  # 3 days late, 1 forgiven
    assert (late.grace_days_used, late.percent, late.penalty) == (1, 20, 1.6)
    assert late.reason == "3 days late; 1 grace day used (0 left); 2 days at 10 % = 20 % of 8 points"


def test_no_time_or_no_due_date_is_never_late():
    p = rules(BASE)
    assert one(p, None).penalty == 0 and "no submission time" in one(p, None).reason
    assert one(p, DUE + 9 * D, due=None).penalty == 0 and "no due date" in one(p, DUE + 9 * D, due=None).reason
    # no file at all: no penalty, whatever the lateness
    assert one(policies.Policies(), DUE + 9 * D).penalty == 0


@pytest.mark.parametrize("text, words", [
    ("[late\n", "not valid TOML"),
    ("[lates]\n", "unknown table [lates]"),
    ("[late]\npenalty_per_dya = 10\n", "unknown setting 'penalty_per_dya'"),
    ("[late]\npenalty_per_day = 110\n", "[late].penalty_per_day: 110 must be a number from 0 to 100"),
    ("[late]\npenalty_cap = 'half'\n", "[late].penalty_cap: 'half' must be a number"),
    ("[late]\ngrace_days = 1.5\n", "grace_days: 1.5 must be a whole number"),
    ("[late]\ndue = 2026-12-01T23:59:00Z\n", "unknown setting 'due'"),
    ("[late.chapters.ch4]\ndue = 2026-12-01T23:59:00Z\n", "no chapter 'ch4' in this course"),
    ("[late.chapters.ch04]\ndue = 'next friday'\n", "[late.chapters.ch04].due: 'next friday' is not a date"),
    ("[late.extensions]\nana = 2\n", "must be a table: [late.extensions.ana]"),
    ("[late.extensions.ana]\nch09 = 2\n", "no chapter 'ch09'"),
])
def test_every_mistake_in_the_file_gets_a_message_that_says_where(text, words):
    with pytest.raises(PolicyError) as info:
        rules(text)
    assert words in str(info.value)


def test_dates_as_strings_and_without_a_zone_are_utc():
    p = rules('[late.chapters.ch04]\ndue = "2026-12-01 23:59:00 UTC"\n[late.chapters.ch05]\ndue = 2026-12-01T23:59:00\n')
    assert p.rule("ch04").due == DUE and p.rule("ch05").due == DUE


def test_a_change_of_the_rules_says_whose_final_score_moved_and_why():
    entries = [Entry("ana", "ch04", 4, 8.0, DUE + D + H, DUE), Entry("ben", "ch04", 4, 8.0, DUE - H, DUE)]
    before = policies.applied(policies.late(rules(BASE), entries))
    after = policies.late(rules(BASE.replace("penalty_per_day = 10", "penalty_per_day = 5")), entries)
    [moved] = policies.changes(before, after)
    assert (moved.student, moved.old, moved.new) == ("ana", 6.4, 7.2)
    assert "20 %" in moved.was and "10 %" in moved.now
    assert policies.changes(policies.applied(after), after) == []


def test_load_reads_the_course_file_or_nothing(tmp_path):
    assert policies.load(tmp_path) == policies.Policies()
    (tmp_path / "policies.toml").write_text(BASE)
    assert policies.load(tmp_path).default.penalty_per_day == 10
    (tmp_path / "policies.toml").write_text("[late]\nbogus = 1\n")
    with pytest.raises(PolicyError, match="policies.toml: .*unknown setting 'bogus'"):
        policies.load(tmp_path)


def test_grades_csv_rows_line_up_with_its_header_with_or_without_a_notebook(tmp_path):
    import csv

    from autograde import course
    from autograde.outputs import export
    from autograde.records import Result
    from autograde.status import Status

    ch = course.chapters()[3]
    late = Result("ana", ch, Status.GRADED, 8.0, 8.0, penalty=0.8, late="2 days late")
    export.write_grades([Result("ben", None, Status.UNREADABLE, message="no notebook of this course"), late],
                        tmp_path, lambda s, c: tmp_path / "none")
    header, *rows = list(csv.reader(open(tmp_path / "grades.csv")))
    assert all(len(r) == len(header) for r in rows)
    by = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert by["ben"]["message"] == "no notebook of this course" and by["ben"]["final_score"] == ""
    assert (by["ana"]["late_penalty"], by["ana"]["final_score"], by["ana"]["late"]) == ("0.80", "7.20", "2 days late")


def test_free_text_cells_never_start_a_formula(tmp_path):
    """A name or a message that starts like a spreadsheet formula is written with a
    leading apostrophe; the student id is left as it is (an LMS import matches it)."""
    import csv

    from autograde import course
    from autograde.outputs import export
    from autograde.records import Result
    from autograde.status import Status

    ch = course.chapters()[3]
    evil = Result("=1+1", ch, Status.GRADED, 8.0, 8.0, name="=HYPERLINK(\"http://x\")", message="@SUM(A1)")
    export.write_grades([evil], tmp_path, lambda s, c: tmp_path / "none")
    [row] = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert row["name"] == "'=HYPERLINK(\"http://x\")" and row["message"] == "'@SUM(A1)"
    assert row["student_id"] == "=1+1"
    assert export._text("-3 points") == "'-3 points" and export._text("José") == "José"
