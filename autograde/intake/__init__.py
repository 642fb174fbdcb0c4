"""Intake: find the submissions (``collect``), tell a notebook from anything else
(``validate``), and keep a hashed, read-only copy of each original before any learner
code runs (``store``)."""
