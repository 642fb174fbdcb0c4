"""Hidden reference solutions of Sequence Models I, one module per chapter.

Instructors and CI only: this package is never imported by a chapter, never shipped
in a release and never reachable from the built book. The nbgrader source notebooks
take the body of each exercise from here (see ``autograde.authoring.assemble``).
"""
