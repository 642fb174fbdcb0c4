"""Authoring: the nbgrader source notebooks (``assemble``), the round trip (``roundtrip``), and synthetic submissions for tests and benchmarks (``synthetic``)."""
