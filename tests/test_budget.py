"""Budgets (issue 15): no submission makes the trusted side work without bound. Each
test answers one question with a small input built here; the whole attacks, in kernels,
are in tests/test_security.py."""
from __future__ import annotations

import socket
import struct
import sys
import threading
import time

import pytest

from autograde.boundary import harness, wire
from autograde.boundary.trusted import MAX_INBOX, BoundaryError, Channel, Window, loopback
from autograde.execution.budget import BoundedCaller, BoundedPool, OverBudget

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "bench"))
import attacks  # noqa: E402


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def _allocate(n):
    return len(bytearray(n))


def test_a_frame_larger_than_the_limit_breaks_the_channel_unread():
    """Does a 40 MB frame cost the grader 40 MB? No: its header is refused, nothing is read."""
    assert wire.MAX_FRAME <= 4 * 2**20 and wire.MAX_ITEMS <= 200_000
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    theirs.sendall(struct.pack(">I", 40 * 2**20) + b"[0," * 1000)
    with pytest.raises(BoundaryError, match="larger than the limit"):
        Window(channel, budget=5).wait_ready(timeout=5)
    theirs.close()


def test_a_message_of_too_many_values_is_refused():
    with pytest.raises(wire.WireError):
        wire.decode([0] * (wire.MAX_ITEMS + 1))


def test_a_sandbox_that_floods_the_inbox_breaks_its_channel():
    """Messages nobody asked for do not pile up in the worker: past MAX_INBOX the channel breaks."""
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    for k in range(MAX_INBOX + 10):
        wire.send(theirs, {"op": "ready", "seq": k})
    deadline = time.monotonic() + 10
    while channel.lost is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert channel.lost and "unasked" in channel.lost
    assert channel._inbox.qsize() <= MAX_INBOX
    theirs.close()


def test_a_stand_in_refuses_a_huge_size():
    """Can a learner's code ask the reference for a 10**9-step answer? It gets an error at once."""
    def asks(n):
        chan = harness._state["channel"]
        wire.send(chan, {"op": "callback", "target": "one_hot", "args": wire.encode([0, n]), "kwargs": wire.encode({})})
        reply = wire.recv(chan)
        return reply.get("ok"), str(reply.get("error", {}).get("message", ""))

    called = []
    with loopback({"asks": asks}) as window:
        window.stand_in(one_hot=lambda i, V: called.append(V) or V)
        fn = window.learner("asks")
        t0 = time.monotonic()
        ok, message = fn(10**9)
        assert not ok and "up to" in message and time.monotonic() - t0 < 5
        assert fn(10)[0] is True
    assert called == [10]  # the reference never saw the huge size


def test_bounded_caller_stops_a_slow_or_greedy_reference():
    """A stand-in that runs past its time, or needs more memory than allowed, is stopped
    with an error; the next call is answered as usual."""
    caller = BoundedCaller(memory=512 * 2**20)
    try:
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="longer than"):
            caller.call(_sleep, "slow", [30], {}, seconds=1)
        assert time.monotonic() - t0 < 15
        with pytest.raises(RuntimeError, match="memory|stopped"):
            caller.call(_allocate, "greedy", [2 * 2**30], {}, seconds=20)
        assert caller.call(_sleep, "quick", [0], {}, seconds=20) == 0
    finally:
        caller.close()


def test_closing_the_window_stops_its_stand_in():
    """A stand-in still computing when its exercise's window closes is stopped then."""
    caller = BoundedCaller(memory=512 * 2**20)
    caller.call(_sleep, "warm", [0], {}, seconds=30)
    out = {}
    thread = threading.Thread(target=lambda: out.update(t=time.monotonic(), e=_catch(caller)))
    thread.start()
    time.sleep(1)
    caller.cancel()
    thread.join(20)
    try:
        assert not thread.is_alive() and "stopped" in str(out["e"])
    finally:
        caller.close()


def _catch(caller):
    try:
        caller.call(_sleep, "slow", [60], {}, seconds=120)
    except RuntimeError as exc:
        return exc
    return None


def test_a_step_over_budget_is_over_budget_and_the_pool_goes_on():
    pool = BoundedPool(1, 512 * 2**20)
    try:
        with pytest.raises(OverBudget, match="longer than 1 s"):
            pool.run(_sleep, 30, seconds=1, what="sleeping")
        assert pool.run(_sleep, 0, seconds=30) == 0
    finally:
        pool.close()


@pytest.mark.parametrize("name", ["markdown_tags", "markdown_fence"])
def test_costly_markdown_is_shown_as_text_in_bounded_time(name):
    """The red team's Markdown: cleaned and rendered in seconds, shown as plain text, no tag of its own."""
    import json

    from autograde.outputs import feedback

    nb = attacks.ATTACKS[name]()
    for cell in nb.cells:
        cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False}
    t0 = time.monotonic()
    clean = feedback.clean_notebook(nb, nb)
    page = feedback.render(json.dumps(clean), {"notebook": "n", "assignment": "ch04", "student": "s", "score": 0,
                                               "max_score": 1, "late_penalty": 0})
    assert time.monotonic() - t0 < 20
    assert "shown as plain text" in clean.cells[2].source
    assert '<b title="t1">' not in page and "&lt;b title" in page.replace("&amp;lt;", "&lt;") or name != "markdown_tags"


def test_a_long_code_line_is_not_highlighted():
    from autograde.outputs import feedback

    t0 = time.monotonic()
    out = feedback.highlighted(lambda s, lang=None: "HIGHLIGHTED", attacks.long_expression(60_000))
    assert out.startswith('<div class="highlight"><pre>x = a.a.a') and time.monotonic() - t0 < 1
    assert feedback.highlighted(lambda s, lang=None: "HIGHLIGHTED", "x = 1") == "HIGHLIGHTED"


def test_honest_markdown_is_still_rendered():
    from autograde.outputs import feedback

    text = "Some *notes* with <b>bold</b> and a fence:\n\n```python\nx = rnn_forward(x, a0, p)\n```"
    assert feedback.markdown_of(text, [feedback.MAX_PAGE_TAGS, feedback.MAX_PAGE_HIGHLIGHT]) == feedback.clean_html(text)


def test_checks_that_count_stand_in_calls_work_when_a_process_answers_them():
    """Stand-ins run in a bounded process on a worker: a check cannot count calls in a
    closure of its own (it would not even pickle), so the window counts them on the trusted
    side. The reference's optimize_step passes chapter 8's check that way, and a learner
    who never clips is still told apart from one who clips after the update."""

    from autograde.authoring import synthetic
    from autograde.checks import CheckFailed, ch08, run
    from autograde.course import by_assignment
    from tests.test_checks import namespace

    caller = BoundedCaller(memory=2**30)
    try:
        ch = by_assignment("ch08")
        with loopback(namespace(synthetic.submission(ch, "reference")), caller=caller) as window:
            run(ch08, "optimize_step", window.learner("optimize_step"))
        ns = namespace(synthetic.submission(ch, {"optimize_step": "no_clipping"}))
        with pytest.raises(CheckFailed) as err, loopback(ns, caller=caller) as window:
            run(ch08, "optimize_step", window.learner("optimize_step"))
        assert err.value.mistake == "no_clipping", err.value
    finally:
        caller.close()
