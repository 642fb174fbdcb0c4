"""The trust boundary between the grader and a learner's notebook.

    wire.py     plain data on the wire: the codec and the frames (standard library and
                numpy only, so that the sandbox can load it without the rest of autograde)
    harness.py  the sandbox side: starts the learner's kernel with its limits, and answers
                the grader's calls inside it (loaded in the sandbox as a lone file)
    trusted.py  the grader's side: remote functions, stand-ins and callbacks

Nothing but plain data crosses (numbers, strings, arrays of numbers, lists, tuples,
sets, dicts, None): no pickle, no code, no live object. The reference and the hidden
checks stay on the trusted side; the sandbox only ever sees the inputs of the learner's
functions and, while one exercise is graded, the answers of the exercises it calls.
"""
