"""nbgrader glue: the course's nbgrader configuration (``config``), the course directory
and its gradebook (``coursedir``), and nbgrader's own sanitizing of a submission against
the gradebook (``sanitize``)."""
