"""Pieces the chapters' checks share: random cases, parameter factories, activations.

One place for them, so that every chapter draws its problems the same way: a case is a
fresh ``np.random.default_rng(base + k)`` with the k-th sizes (so a failing case can be
rebuilt from its number), and an RNN's parameters come from :func:`rnn_parameters` with
the scales the chapter needs.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

ACTIVATIONS = ("tanh", "relu")
GRADIENT_KEYS = ("dWaa", "dWax", "dba", "dWya", "dby")  # the gradients of the five parameters, exactly
PARAMETER_NAMES = ("Waa", "Wax", "ba", "Wya", "by")


def cases(base: int, sizes: Sequence[tuple], count: int | None = None) -> Iterator[tuple[np.random.Generator, tuple]]:
    """``count`` cases (default: one per entry of ``sizes``): the k-th is a generator seeded
    ``base + k`` and the sizes ``sizes[k % len(sizes)]``."""
    for k in range(len(sizes) if count is None else count):
        yield np.random.default_rng(base + k), sizes[k % len(sizes)]


def rnn_parameters(rng: np.random.Generator, n_x: int, n_a: int, n_y: int | None = None, *, waa: float = 0.8,
                   wax: float = 1.0, ba: float = 0.5, wya: float = 1.0, by: float = 0.5) -> dict:
    """Waa (n_a, n_a), Wax (n_a, n_x), ba (n_a, 1) and, when ``n_y`` is given, Wya (n_y, n_a)
    and by (n_y, 1): standard normal entries times the given scales, drawn in that order.
    Every entry is non-zero, so a term left out of an equation changes the answer."""
    p = {"Waa": rng.standard_normal((n_a, n_a)) * waa, "Wax": rng.standard_normal((n_a, n_x)) * wax,
         "ba": rng.standard_normal((n_a, 1)) * ba}
    if n_y is not None:
        p.update({"Wya": rng.standard_normal((n_y, n_a)) * wya, "by": rng.standard_normal((n_y, 1)) * by})
    return p


def activation_kwargs(activation: str) -> dict:
    """The keyword arguments that select ``activation``: none for the default tanh, so the
    default is exercised too."""
    return {} if activation == "tanh" else {"activation": activation}


def relu(v):
    return np.maximum(v, 0)


def activate(v, activation: str):
    """g(v) for the activations of the course."""
    return np.tanh(v) if activation == "tanh" else relu(v)


def g_prime(a_out, activation: str):
    """g'(z) written with g's output a = g(z), for the activations of the course."""
    return 1 - a_out ** 2 if activation == "tanh" else (a_out > 0).astype(float)
