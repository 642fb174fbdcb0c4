"""Authoring: the nbgrader source notebooks (``assemble``), and synthetic submissions for tests and benchmarks (``synthetic``)."""
