"""The trust boundary's protocol, without a sandbox: plain data crosses both ways and
nothing else does; the trusted side believes nothing out of protocol."""
from __future__ import annotations

import socket
import struct
import threading

import numpy as np
import pytest

from autograde.boundary import harness, wire
from autograde.boundary.trusted import (
    BoundaryError,
    BoundaryTimeout,
    Channel,
    LearnerError,
    RemoteFunction,
    Unsendable,
    Window,
    loopback,
)


@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 2.5, float("inf"), "word", [1, [2, "x"]], (1, (2.0, None)), {"a": 1, 2: "b", (1, 2): [3]},
    {1, 2}, frozenset({"x"}), 1 + 2j, np.arange(6, dtype=np.int32).reshape(2, 3), np.eye(2) > 0,
    np.zeros((0, 4)), np.float32(1.5), np.int64(7), np.bool_(True), np.array([1 + 1j], dtype=np.complex64),
])
def test_plain_data_round_trips_exactly(value):
    """Does every kind of plain data come back as what was sent (type, dtype, shape, value)?"""
    back = wire.decode(wire.encode(value))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and np.array_equal(back, value)
    else:
        assert back == value or (isinstance(value, float) and np.isnan(value))


@pytest.mark.parametrize("value", [object(), np.array(["a", "b"]), np.array([object()]), lambda x: x, b"bytes",
                                   {"k": socket.socket}])
def test_anything_else_cannot_be_sent(value):
    """Is every value that is not plain data refused, with a message that says why?"""
    with pytest.raises(wire.WireError, match="cannot be sent"):
        wire.encode(value)


@pytest.mark.parametrize("data,why", [
    ({"X": []}, "unknown tag"), ({"A": ["|O", [1], ""]}, "dtype"), ({"A": ["<f8", [3], "AAAA"]}, "does not match"),
    ({"A": ["<f8", [-1], ""]}, "bad shape"), ({"D": [[1]]}, "pair"), ({"S": [[1]]}, "unhashable"),
    ({"R": "callback-1"}, "callable"), ({"a": 1, "b": 2}, "not plain data"), ({"C": ["1", 2]}, "complex"),
    ({"N": ["<f8", "AA=="]}, "bytes"), ({"A": ["<f8", [1], "@@@"]}, "base64"),
])
def test_decoding_checks_everything(data, why):
    """Is a message that is not exactly plain data refused (no tag, dtype, shape or size is believed)?"""
    with pytest.raises(wire.WireError, match=why):
        wire.decode(data)


def test_nesting_and_size_are_bounded():
    """Can a message exhaust the grader by depth or by item count? No."""
    deep = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError, match="deeply nested"):
        wire.decode(deep)
    with pytest.raises(wire.WireError, match="too large"):
        wire.decode({"A": ["|u1", [wire.MAX_ITEMS + 1], ""]})


def test_frames_are_bounded_and_must_be_json_objects():
    """Does a frame announcing 4 GB, or holding something other than a JSON object, fail cleanly?"""
    a, b = socket.socketpair()
    a.sendall(struct.pack(">I", 2**32 - 1))
    with pytest.raises(wire.WireError, match="larger than the limit"):
        wire.recv(b)
    a.sendall(struct.pack(">I", 4) + b"[1] ")
    with pytest.raises(wire.WireError, match="not a JSON object"):
        wire.recv(b)
    a.close()
    with pytest.raises(EOFError):
        wire.recv(b)


def test_a_call_gives_the_result_and_the_arguments_as_they_were_after():
    """Does the trusted side see both what the function returned and what it did to its inputs?"""
    def scale(x, factor=2):
        x *= factor
        return x.sum()

    with loopback({"scale": scale}) as window:
        fn = window.learner("scale")
        assert isinstance(fn, RemoteFunction)
        result, after = fn.call((np.ones(3),), {"factor": 3})
        assert result == 9.0 and np.array_equal(after[0], [3.0, 3.0, 3.0])


def test_exceptions_come_back_by_name_and_only_builtins_as_themselves():
    """Is a learner's exception rebuilt without running any of its code?"""
    class Custom(Exception):
        def __str__(self):
            return "custom"

    def raises(kind):
        raise {"index": IndexError("nope"), "custom": Custom(), "exit": SystemExit(0)}[kind]

    with loopback({"raises": raises}) as window:
        fn = window.learner("raises")
        with pytest.raises(IndexError, match="nope"):
            fn("index")
        with pytest.raises(LearnerError) as err:
            fn("custom")
        assert type(err.value).__name__ == "Custom" and str(err.value) == "custom"
        with pytest.raises(RuntimeError, match="SystemExit raised"):
            fn("exit")


def test_a_result_that_is_not_plain_data_is_unsendable():
    with loopback({"f": lambda: object()}) as window:
        with pytest.raises(Unsendable):
            window.learner("f")()


def test_stand_ins_answer_from_the_trusted_side_and_leave_afterwards():
    """While an exercise is graded, does a stand-in answer for another, and only then?"""
    ns = {}
    exec("def outer(x):\n    return inner(x) + 1\ndef inner(x):\n    return -100", ns)
    with loopback(ns) as window:
        window.stand_in(inner=lambda x: x * 10)
        assert window.learner("outer")(4) == 41
    assert ns["inner"](0) == -100  # the learner's own is back


def test_no_stand_in_for_an_exercise_still_to_be_graded():
    """Can a learner get the reference answer of an exercise before its own check? No."""
    ns = {}
    exec("def outer(x):\n    return inner(x)\ndef inner(x):\n    return 'mine'", ns)
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    window = Window(channel, budget=10, pending=frozenset({"inner"}))
    server = threading.Thread(target=harness.serve, args=(ns, theirs), daemon=True)
    server.start()
    window.wait_ready()
    window.stand_in(inner=lambda x: "reference")
    assert window.learner("outer")(1) == "mine" and not window.stood_in
    window.end()
    channel.close()


def test_call_backs_ask_only_for_what_was_registered():
    """Can the sandbox call a trusted function by a made-up name? No."""
    def asks(f, target):
        chan = harness._state["channel"]
        wire.send(chan, {"op": "callback", "target": target, "args": wire.encode([1]), "kwargs": wire.encode({})})
        return wire.recv(chan).get("ok"), f(2)

    with loopback({"asks": asks}) as window:
        fn = window.learner("asks")
        assert fn(lambda x: x + 1, "callback-1") == (True, 3)  # the function argument itself
        assert fn(lambda x: x + 1, "check_softmax") == (False, 3)


def test_a_silent_sandbox_is_lost_in_time():
    """A sandbox that never answers costs its window a bounded time, then is lost."""
    ours, theirs = socket.socketpair()
    window = Window(Channel(ours), budget=0.2)
    with pytest.raises(BoundaryError):
        window.wait_ready(timeout=0.2)
    import autograde.boundary.trusted as trusted

    grace, trusted.GRACE = trusted.GRACE, 0.2
    try:
        with pytest.raises(BoundaryTimeout):
            window.request({"op": "describe", "name": "x"})
    finally:
        trusted.GRACE = grace
    theirs.close()


def test_garbage_from_the_sandbox_breaks_the_channel_not_the_grader():
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    window = Window(channel, budget=5)
    theirs.sendall(b"\xff" * 64)
    with pytest.raises(BoundaryError, match="not plain data"):
        window.wait_ready(timeout=2)
    with pytest.raises(BoundaryError):  # and it stays broken
        window.request({"op": "describe", "name": "x"})
