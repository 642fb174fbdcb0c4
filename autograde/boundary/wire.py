"""Plain data across the trust boundary: a strict JSON codec and length-prefixed frames.

Both sides load this module: the grader (``autograde.boundary.wire``) and the sandbox
(mounted next to the harness as a lone file), so it imports nothing but the standard
library and numpy.

A value is encoded as JSON; everything JSON has no word for is a one-key object whose
key says what it is, and a dict is always such an object, so there is no ambiguity:

    None, bool, int, float, str   as JSON (NaN and infinities as Python's json writes them)
    list                          a JSON array
    tuple / set / frozenset       {"T": [...]} / {"S": [...]} / {"F": [...]}
    dict                          {"D": [[key, value], ...]}   (keys of any plain type)
    complex                       {"C": [real, imag]}
    numpy array                   {"A": [dtype, shape, base64 of the C-ordered bytes]}
    numpy scalar                  {"N": [dtype, base64 of its bytes]}
    a callable of the grader's    {"R": id}   (the other side calls it back by id)

Only numeric dtypes cross (bool, integers, floats, complex): no object, string or
structured arrays. Decoding checks every tag, shape, dtype and size, and limits the
depth and the number of items, so a hostile peer can send nothing but plain data.
"""
from __future__ import annotations

import base64
import json
import math
import socket
import struct

import numpy as np

MAX_FRAME = 4 * 2**20  # bytes of one message (the course's largest is well under 1 MB)
MAX_DEPTH = 32  # nesting of containers
MAX_ITEMS = 200_000  # containers' items and array elements in one message
_HEADER = struct.Struct(">I")
_DTYPES = {np.dtype(t).str: np.dtype(t) for t in (
    "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")}


class WireError(ValueError):
    """A value that cannot cross the boundary, or a message that is not plain data."""


class Remote:
    """A callable that lives on the other side, known by its id (see ``R`` above)."""

    def __init__(self, ident: str):
        self.ident = ident

    def __repr__(self):
        return f"<remote callable {self.ident}>"


# ---------------------------------------------------------------- encoding
def encode(value, register=None) -> object:
    """``value`` as JSON-ready plain data. ``register(fn) -> id`` names callables that
    may cross as call-backs; without it a callable is an error."""
    counter = [0]

    def enc(v, depth):
        counter[0] += 1
        if counter[0] > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError("the value is too large or too deeply nested to send")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, np.ndarray):
            return _array(v, counter)
        if isinstance(v, np.generic):
            if isinstance(v, np.str_):
                return str(v)
            dt = _dtype(v.dtype)
            return {"N": [dt.str, base64.b64encode(np.asarray(v, dtype=dt).tobytes()).decode()]}
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float(v)
        if isinstance(v, complex):
            return {"C": [v.real, v.imag]}
        if isinstance(v, list):
            return [enc(x, depth + 1) for x in v]
        if isinstance(v, tuple):
            return {"T": [enc(x, depth + 1) for x in v]}
        if isinstance(v, (set, frozenset)):
            return {"S" if isinstance(v, set) else "F": [enc(x, depth + 1) for x in v]}
        if isinstance(v, dict):
            return {"D": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, Remote):
            return {"R": v.ident}
        if callable(v) and register is not None:
            return {"R": register(v)}
        raise WireError(f"a value of type {type(v).__name__} cannot be sent: only numbers, strings, "
                        "numpy arrays of numbers, lists, tuples, sets, dicts and None")

    return enc(value, 0)


def _dtype(dt) -> np.dtype:
    dt = np.dtype(dt)
    found = _DTYPES.get(dt.newbyteorder("<").str if dt.byteorder == ">" else dt.str)
    if found is None:
        raise WireError(f"numpy arrays of dtype {dt} cannot be sent: only numbers and booleans")
    return found


def _array(a: np.ndarray, counter) -> dict:
    dt = _dtype(a.dtype)
    counter[0] += a.size
    if counter[0] > MAX_ITEMS:
        raise WireError(f"an array of {a.size} elements is too large to send")
    data = np.ascontiguousarray(a, dtype=dt).tobytes()
    return {"A": [dt.str, list(a.shape), base64.b64encode(data).decode()]}


# ---------------------------------------------------------------- decoding
def decode(data, remote=None):
    """Plain data from JSON-ready ``data``, checking everything. ``remote(id)`` turns a
    call-back id into a callable; without it a call-back is an error."""
    return _Decoder(remote).value(data, 0)


class _Decoder:
    def __init__(self, remote):
        self.remote = remote
        self.items = 0

    def count(self, n: int, depth: int) -> None:
        self.items += n
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError("the message is too large or too deeply nested")

    def value(self, v, depth: int):
        self.count(1, depth)
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self.value(x, depth + 1) for x in v]
        if not (isinstance(v, dict) and len(v) == 1):
            raise WireError(f"not plain data: {type(v).__name__}")
        (tag, body), = v.items()
        handler = {"T": self.collection, "S": self.collection, "F": self.collection, "D": self.mapping,
                   "C": self.complex, "A": self.array, "N": self.scalar, "R": self.callback}.get(tag)
        if handler is None:
            raise WireError(f"unknown tag {tag!r}")
        return handler(tag, body, depth)

    def collection(self, tag, body, depth):
        items = [self.value(x, depth + 1) for x in _list(body)]
        if tag == "T":
            return tuple(items)
        try:
            return set(items) if tag == "S" else frozenset(items)
        except TypeError as exc:
            raise WireError(f"a set of unhashable items: {exc}") from None

    def mapping(self, tag, body, depth):
        out = {}
        for pair in _list(body):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise WireError("a dict entry is not a [key, value] pair")
            key = self.value(pair[0], depth + 1)
            try:
                out[key] = self.value(pair[1], depth + 1)
            except TypeError:
                raise WireError(f"an unhashable dict key of type {type(key).__name__}") from None
        return out

    def complex(self, tag, body, depth):
        re_im = _list(body)
        if len(re_im) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in re_im):
            raise WireError("a complex number is not [real, imag]")
        return complex(*re_im)

    def array(self, tag, body, depth):
        parts = _list(body)
        if len(parts) != 3 or not isinstance(parts[1], list) or not isinstance(parts[2], str):
            raise WireError("an array is not [dtype, shape, data]")
        dt, shape = _dtype_named(parts[0]), parts[1]
        if len(shape) > 32 or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
            raise WireError("an array has a bad shape")
        size = math.prod(shape)
        self.count(size, depth)
        raw = _b64(parts[2])
        if len(raw) != size * dt.itemsize:
            raise WireError("an array's data does not match its shape")
        return np.frombuffer(raw, dtype=dt).reshape(shape).copy()

    def scalar(self, tag, body, depth):
        parts = _list(body)
        if len(parts) != 2 or not isinstance(parts[1], str):
            raise WireError("a numpy scalar is not [dtype, data]")
        dt = _dtype_named(parts[0])
        raw = _b64(parts[1])
        if len(raw) != dt.itemsize:
            raise WireError("a numpy scalar has the wrong number of bytes")
        return np.frombuffer(raw, dtype=dt)[0]

    def callback(self, tag, body, depth):
        if self.remote is None or not isinstance(body, str) or len(body) > 64:
            raise WireError("a callable cannot be received here")
        return self.remote(body)


def _list(body) -> list:
    if not isinstance(body, list):
        raise WireError("a tagged value does not hold a list")
    return body


def _dtype_named(name) -> np.dtype:
    if not isinstance(name, str) or name not in _DTYPES:
        raise WireError(f"arrays of dtype {name!r} cannot be received")
    return _DTYPES[name]


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise WireError("bad base64 data") from None


# ---------------------------------------------------------------- frames
def dumps(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def send(sock: socket.socket, message: dict) -> None:
    data = dumps(message)
    if len(data) > MAX_FRAME:
        raise WireError(f"a message of {len(data)} bytes is larger than the limit of {MAX_FRAME}")
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv(sock: socket.socket) -> dict:
    """The next message. Raises EOFError when the peer has gone, WireError when what
    arrives is not a message."""
    (size,) = _HEADER.unpack(_read(sock, _HEADER.size))
    if size > MAX_FRAME:
        raise WireError(f"a message of {size} bytes is larger than the limit of {MAX_FRAME}")
    try:
        message = json.loads(_read(sock, size).decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, an int of 5000 digits
        raise WireError("a message is not JSON") from None
    if not isinstance(message, dict):
        raise WireError("a message is not a JSON object")
    return message


def _read(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
