"""Outputs: the learners' feedback pages (``feedback``), the instructor's class report
and summary table (``report``), and grades.csv (``export``)."""
