"""Saving: the gradebook, written by the coordinator alone from trusted verdicts
(``gradebook``), and the journal that makes a run restartable (``journal``)."""
