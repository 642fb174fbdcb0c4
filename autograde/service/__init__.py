"""The submission service (``python -m autograde serve``): learners submit a notebook over
HTTP and get the grader's verdict in seconds.

    tokens.py   who is calling: learners' and instructors' tokens, stored as hashes
    store.py    the durable records: token hashes, every submission (its queue row)
    loop.py     the one grading loop: the grader's own steps, streaming through the cluster
    app.py      the HTTP side (FastAPI on uvicorn): validate, store, enqueue, answer
    static/     the web page (HTML, CSS and one JS file; no inline script)
"""
