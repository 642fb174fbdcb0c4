"""Execution: the bubblewrap sandbox of one learner's kernel (``sandbox``), the kernel
manager nbclient drives it with (``kernel``), the runner that grades one notebook from
the trusted side (``runner``), and the dask workers (``workers``)."""
