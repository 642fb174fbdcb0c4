"""The grading side of Sequence Models I, laid out by responsibility.

- ``autograde.course``: where the chapters are and what each is called.
- ``autograde.authoring``: nbgrader source notebooks from a chapter, the reference and
  the hidden checks (``assemble``), synthetic submissions for tests and benchmarks
  (``synthetic``).
- ``autograde.intake``: find the submissions, tell notebooks from other files, keep a
  hashed read-only copy of each original.
- ``autograde.nbgrader_glue``: the nbgrader configuration, the course directory,
  nbgrader's sanitizing of a submission, the course's nbgrader preprocessors, and the
  round trip (``roundtrip``).
- ``autograde.boundary``: the trust boundary: the plain-data protocol, the harness that
  runs beside the learner's kernel, and the trusted side of it.
- ``autograde.checks``: the hidden check of every exercise (trusted side only).
- ``autograde.execution``: the bubblewrap sandbox, its kernel manager, the runner that
  grades one notebook, and the dask workers.
- ``autograde.saving``: the gradebook (one writer, trusted verdicts) and the journal.
- ``autograde.outputs``: feedback pages, the class report, grades.csv.
- ``autograde.coordinator``: a grading run, from intake to export.
- ``autograde.status``, ``autograde.records``, ``autograde.settings``: the status
  vocabulary, the Submission and Result records, the options of a run.
- ``python -m autograde``: the instructor's command line (``--help``).
"""

import sys as _sys

# jsonschema (through nbformat) imports rfc3987_syntax, if installed, only to check the
# "iri" string formats, which no notebook schema uses; importing it compiles a grammar
# and costs more than a second in every grading process. Without it jsonschema leaves
# those two formats unchecked.
_sys.modules.setdefault("rfc3987_syntax", None)
