"""The grading side of Sequence Models I.

- ``autograde.course``: where the chapters are and what each one is called.
- ``autograde.assemble``: builds nbgrader source notebooks from a chapter, the
  reference package ``solutions`` and the hidden checks.
- ``autograde.checks``: the hidden check of every exercise.
- ``autograde.nbgrader_config``: the nbgrader configuration of the course.
- ``autograde.grading``: release, grade, feedback and export for instructors.
- ``python -m autograde``: the instructor's command line (``--help``).
"""
