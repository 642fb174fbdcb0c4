"""The chapter 8 reference, checked independently: the chapter's worked examples by hand,
the loss and every gradient against a language model written here from scratch (its own
tanh recurrence and log-softmax, explicit loops) and centred finite differences, the
sampler's draws against the chain-rule probability of each name, and, on the real
corpus, that training learns what the chapter says it learns.

Measured here (float64, eps = 1e-6): relative errors of the gradients between 1e-11 and
1e-8; the assertions hold them to 1e-7.
"""
import pathlib
import re
from collections import Counter
from importlib import resources

import nbformat
import numpy as np
import pytest

from solutions.ch08 import (
    EOS,
    cross_entropy,
    cross_entropy_gradient,
    encode_name,
    lm_loss_and_gradients,
    optimize_step,
    sample,
    train,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "08" / "character_language_model.ipynb"
TINY = {"A": 0, "d": 1, "a": 2, "\n": 3}  # <EOS> is not index 0: nothing may assume it
GRAD_BOUND = 1e-7


# ---------------------------------------------------------------- a language model from scratch
def log_softmax(z):
    """log softmax of a 1-D array, by the log-sum-exp identity."""
    top = np.max(z)
    return z - top - np.log(np.sum(np.exp(z - top)))


def scratch_run(p, inputs, a0=None, temperature=1.0):
    """(log-probabilities of every character at every step, last state) for inputs given as
    a list of indices, None meaning the all-zero vector: one example, explicit loop."""
    n_a, V = p["Wax"].shape
    a = np.zeros(n_a) if a0 is None else a0[:, 0].copy()
    logs = []
    for idx in inputs:
        x = np.zeros(V)
        if idx is not None:
            x[idx] = 1.0
        a = np.tanh(p["Waa"] @ a + p["Wax"] @ x + p["ba"][:, 0])
        logs.append(log_softmax((p["Wya"] @ a + p["by"][:, 0]) / temperature))
    return logs, a


def scratch_loss(p, targets, a0=None):
    """-log P(name) under teacher forcing: inputs None, then each target but the last."""
    logs, _ = scratch_run(p, [None] + list(targets[:-1]), a0)
    return -sum(logs[t][c] for t, c in enumerate(targets))


def log_probability_of(p, indices, temperature=1.0):
    """log P(the sampler writes exactly these indices), by the chain rule."""
    logs, _ = scratch_run(p, [None] + list(indices[:-1]), temperature=temperature)
    return sum(logs[t][c] for t, c in enumerate(indices))


def fd(f, theta, eps=1e-6):
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        up, down = theta.copy(), theta.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def rel(a, b):
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-300))


def random_params(rng, V, n_a, scale=1.0):
    return {"Waa": rng.standard_normal((n_a, n_a)) * 0.5 * scale, "Wax": rng.standard_normal((n_a, V)) * scale,
            "ba": rng.standard_normal((n_a, 1)) * 0.3, "Wya": rng.standard_normal((V, n_a)) * scale,
            "by": rng.standard_normal((V, 1)) * 0.5}


def random_vocabulary(rng, V):
    chars = [EOS] + list("AbCdEfGh"[: V - 1])
    order = rng.permutation(V)
    return {c: int(order[k]) for k, c in enumerate(chars)}


# ---------------------------------------------------------------- encode_name
def test_encode_name_ada_by_hand():
    x, targets = encode_name("Ada", TINY)
    assert targets.tolist() == [0, 1, 2, 3] and np.issubdtype(targets.dtype, np.integer)
    expected = np.zeros((4, 1, 4))
    expected[0, 0, 1] = expected[1, 0, 2] = expected[2, 0, 3] = 1.0  # A, d, a feed steps 2, 3, 4
    assert np.array_equal(x, expected)
    x1, t1 = encode_name("a", TINY)
    assert x1.shape == (4, 1, 2) and t1.tolist() == [2, 3] and x1[:, 0, 0].sum() == 0 and x1[2, 0, 1] == 1


@pytest.mark.parametrize("seed", range(5))
def test_encode_name_invariants(seed):
    rng = np.random.default_rng(seed)
    V = int(rng.integers(3, 9))
    vocab = random_vocabulary(rng, V)
    letters = [c for c in vocab if c != EOS]
    name = "".join(rng.choice(letters, size=int(rng.integers(1, 10))))
    x, targets = encode_name(name, vocab)
    assert x.shape == (V, 1, len(name) + 1) and targets.shape == (len(name) + 1,)
    assert targets[-1] == vocab[EOS]
    assert [k for k in targets[:-1]] == [vocab[c] for c in name]  # the targets spell the name
    assert not x[:, 0, 0].any() and np.all(x[:, 0, 1:].sum(axis=0) == 1)
    # teacher forcing: the input of step t is the target of step t - 1
    assert np.array_equal(np.argmax(x[:, 0, 1:], axis=0), targets[:-1])


# ---------------------------------------------------------------- the loss and its gradient
def test_cross_entropy_worked_example_and_chain_rule():
    y_hat = np.array([[[0.5, 0.25, 0.1]], [[0.3, 0.25, 0.8]], [[0.2, 0.5, 0.1]]])
    loss = cross_entropy(y_hat, np.array([0, 1, 1]))
    assert isinstance(loss, float)
    assert np.isclose(loss, np.log(10)) and np.isclose(loss, 2.3026, atol=1e-4)  # -log(0.5 * 0.25 * 0.8)
    assert np.isclose(cross_entropy(y_hat, np.array([2, 2, 0])), -np.log(0.2 * 0.5 * 0.1))
    assert cross_entropy(np.ones((3, 1, 2)) / 3, np.array([0, 2])) == pytest.approx(2 * np.log(3))


@pytest.mark.parametrize("seed", range(4))
def test_cross_entropy_is_minus_log_probability_of_the_name(seed):
    rng = np.random.default_rng(10 + seed)
    V, n_a = 6, 4
    p = random_params(rng, V, n_a)
    vocab = random_vocabulary(rng, V)
    name = "".join(rng.choice([c for c in vocab if c != EOS], size=4))
    x, targets = encode_name(name, vocab)
    loss, _, _ = lm_loss_and_gradients(x, targets, np.zeros((n_a, 1)), p)
    assert np.isclose(loss, scratch_loss(p, targets))
    assert np.isclose(loss, -log_probability_of(p, targets))  # the sampler's view of the same name


def test_gradient_worked_example_and_input_untouched():
    y_hat = np.array([[[0.2]], [[0.5]], [[0.3]]])
    before = y_hat.copy()
    dz = cross_entropy_gradient(y_hat, np.array([1]))
    assert np.allclose(dz.ravel(), [0.2, -0.5, 0.3]) and dz is not y_hat and np.array_equal(y_hat, before)


@pytest.mark.parametrize("seed", range(4))
def test_gradient_against_finite_differences_of_the_logits(seed):
    rng = np.random.default_rng(20 + seed)
    V, T_x = int(rng.integers(2, 8)), int(rng.integers(1, 7))
    z = rng.standard_normal((V, 1, T_x)) * 2
    targets = rng.integers(V, size=T_x)

    def loss_of(logits):
        return -sum(log_softmax(logits[:, 0, t])[targets[t]] for t in range(T_x))

    y_hat = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)
    dz = cross_entropy_gradient(y_hat, targets)
    assert rel(dz, fd(loss_of, z)) < GRAD_BOUND
    assert np.allclose(dz.sum(axis=0), 0.0)


# ---------------------------------------------------------------- forward and backward over a name
CASES = [(V, n_a, length, zero) for V, n_a, length in [(5, 3, 1), (7, 4, 4), (4, 6, 8)] for zero in (True, False)]


@pytest.mark.parametrize("V,n_a,length,zero_state", CASES)
def test_every_gradient_against_finite_differences_of_a_scratch_loss(V, n_a, length, zero_state):
    rng = np.random.default_rng(100 * V + length)
    p = random_params(rng, V, n_a)
    vocab = random_vocabulary(rng, V)
    x, targets = encode_name("".join(rng.choice([c for c in vocab if c != EOS], size=length)), vocab)
    a0 = np.zeros((n_a, 1)) if zero_state else rng.standard_normal((n_a, 1)) * 0.5
    loss, grads, a_last = lm_loss_and_gradients(x, targets, a0, p)
    assert np.isclose(loss, scratch_loss(p, targets, a0))
    assert np.allclose(a_last[:, 0], scratch_run(p, [None] + list(targets[:-1]), a0)[1])
    assert set(grads) == {"dWaa", "dWax", "dba", "dWya", "dby"}
    for name in p:
        numeric = fd(lambda v, name=name: scratch_loss(dict(p, **{name: v}), targets, a0), p[name])
        assert grads["d" + name].shape == p[name].shape
        assert rel(grads["d" + name], numeric) < GRAD_BOUND, name


# ---------------------------------------------------------------- one step, and the loop
def _problem(seed, scale=2.0):
    rng = np.random.default_rng(seed)
    p = random_params(rng, 5, 4, scale)
    vocab = random_vocabulary(rng, 5)
    x, targets = encode_name("AbCd", vocab)
    return p, vocab, x, targets


def test_optimize_step_is_a_clipped_descent_step():
    p, _, x, targets = _problem(1)
    before = {k: v.copy() for k, v in p.items()}
    a0 = np.zeros((4, 1))
    true_grad = {k: fd(lambda v, k=k: scratch_loss(dict(p, **{k: v}), targets), p[k]) for k in p}
    norm = np.sqrt(sum(np.sum(g ** 2) for g in true_grad.values()))
    assert norm > 1.0
    # inactive clip: exactly a gradient step
    loss, new, a_last = optimize_step(x, targets, a0, p, 0.1, 10 * norm)
    assert np.isclose(loss, scratch_loss(p, targets))
    for k in p:
        assert np.allclose(new[k], p[k] - 0.1 * true_grad[k], atol=1e-8)
    # active clip: the same direction, the length learning_rate * max_norm
    loss, new, _ = optimize_step(x, targets, a0, p, 0.1, 0.5)
    step = {k: new[k] - p[k] for k in p}
    assert np.isclose(np.sqrt(sum(np.sum(s ** 2) for s in step.values())), 0.1 * 0.5)
    for k in p:
        assert np.allclose(step[k], -0.1 * 0.5 / norm * true_grad[k], atol=1e-8)
    assert all(np.array_equal(p[k], before[k]) for k in p)
    # a small step goes downhill on that name
    _, small, _ = optimize_step(x, targets, a0, p, 0.01, 1.0)
    assert scratch_loss(small, targets) < loss


def test_train_resets_the_state_and_chains_the_steps():
    p, vocab, _, _ = _problem(2, scale=1.0)
    before = {k: v.copy() for k, v in p.items()}
    same, losses = train(["AbC", "AbC", "AbC"], vocab, p, 0.0, 5.0)
    x, targets = encode_name("AbC", vocab)
    assert np.allclose(losses, scratch_loss(p, targets))  # every name from a<0> = 0
    assert all(np.array_equal(same[k], p[k]) for k in p)
    new, losses = train(["AbC", "dC"], vocab, p, 0.3, 5.0)
    _, p1, _ = optimize_step(*encode_name("AbC", vocab), np.zeros((4, 1)), p, 0.3, 5.0)
    _, p2, _ = optimize_step(*encode_name("dC", vocab), np.zeros((4, 1)), p1, 0.3, 5.0)
    assert np.isclose(losses[1], scratch_loss(p1, encode_name("dC", vocab)[1]))
    assert all(np.allclose(new[k], p2[k]) for k in p)
    assert all(np.array_equal(p[k], before[k]) for k in p)


def test_train_learns_one_name_by_heart():
    p, vocab, _, _ = _problem(3, scale=0.3)
    trained, losses = train(["dCAb"] * 200, vocab, p, 0.1, 5.0)
    assert losses[0] > 5 and losses[-1] < 0.2 * losses[0]
    assert sample(trained, vocab[EOS], 0, temperature=0.2) == encode_name("dCAb", vocab)[1].tolist()


# ---------------------------------------------------------------- the sampler
SPELL = {"Waa": np.zeros((4, 4)), "Wax": 10 * np.eye(4), "ba": np.zeros((4, 1)),
         "Wya": 30 * np.roll(np.eye(4), 1, axis=0), "by": np.array([[15.0], [0.0], [0.0], [0.0]])}


def test_sampler_feeds_back_stops_and_respects_max_length():
    for seed in range(10):
        assert sample(SPELL, 3, seed) == [0, 1, 2, 3]
    assert sample(SPELL, 3, 0, max_length=3) == [0, 1, 2]
    assert sample(SPELL, 2, 0) == [0, 1, 2]  # stops at whichever index is <EOS>
    never = dict(SPELL, Wya=np.zeros((4, 4)), by=np.array([[0.0], [0.0], [0.0], [-60.0]]))
    assert all(len(sample(never, 3, seed, max_length=7)) == 7 for seed in range(5))


def test_sampler_is_reproducible_and_takes_a_generator():
    rng = np.random.default_rng(4)
    p = random_params(rng, 6, 5)
    assert sample(p, 0, 123, 1.3) == sample(p, 0, 123, 1.3)
    stream = np.random.default_rng(7)
    first, second = sample(p, 0, stream), sample(p, 0, stream)
    again = np.random.default_rng(7)
    assert [sample(p, 0, again), sample(p, 0, again)] == [first, second]
    names = {tuple(sample(p, 0, seed)) for seed in range(30)}
    assert len(names) > 10  # drawn, not the same name every time


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampler_frequencies_follow_the_chain_rule(temperature):
    """Each whole name is drawn about as often as the model's probability of it says."""
    rng = np.random.default_rng(5)
    p = random_params(rng, 4, 3, scale=1.2)
    p["by"][2, 0] += 1.0  # <EOS> (index 2) likely enough that names stay short
    n = 4000
    counts = Counter(tuple(sample(p, 2, seed, temperature)) for seed in range(n))
    for name, count in counts.most_common(6):
        prob = np.exp(log_probability_of(p, list(name), temperature))
        assert abs(count / n - prob) < 4 * np.sqrt(prob * (1 - prob) / n) + 1e-3, (name, count / n, prob)


def test_low_temperature_tends_to_the_likeliest_path():
    rng = np.random.default_rng(6)
    p = random_params(rng, 5, 4, scale=2.0)
    greedy, inputs = [], [None]
    while len(greedy) < 30:
        logs, _ = scratch_run(p, inputs)
        greedy.append(int(np.argmax(logs[-1])))
        if greedy[-1] == 1:
            break
        inputs.append(greedy[-1])
    assert all(sample(p, 1, seed, temperature=0.01) == greedy for seed in range(5))


# ---------------------------------------------------------------- the real corpus
def census_first_names():
    """The census lists of the `names` package, read here on their own."""
    names = set()
    for listing in ("dist.female.first", "dist.male.first"):
        with open(resources.files("names") / listing) as f:
            names |= {line[:15].strip().title() for line in f if line.strip()}
    return sorted(names)


def test_corpus_is_the_one_the_chapter_describes():
    female = (resources.files("names") / "dist.female.first").read_text().split("\n")
    male = (resources.files("names") / "dist.male.first").read_text().split("\n")
    assert len([r for r in female if r.strip()]) == 4275 and len([r for r in male if r.strip()]) == 1219
    names = census_first_names()
    assert len(names) == 5163 and all(n.isalpha() and n[0].isupper() and n[1:].islower() for n in names)
    assert len(set("".join(names)) | {EOS}) == 53
    prose = "\n".join(c.source for c in nbformat.read(CHAPTER, as_version=4).cells if c.cell_type == "markdown")
    assert "4,275 female and\n1,219 male names" in prose and "V = 53" in prose
    flat = " ".join(prose.split())
    assert f"{len(names) - 500:,} training names" in flat and f"{PASSES * (len(names) - 500):,} steps" in flat


# The chapter's training set-up (the notebook's cells hold the same numbers: checked below)
N_A, LEARNING_RATE, MAX_NORM, PASSES = 50, 0.03, 5.0, 3
TABLE_SEEDS = ((0.5, 10), (1.0, 11), (1.5, 12))


def corpus_run():
    """Train the reference as the chapter does; everything the chapter states about the run."""
    names = census_first_names()
    characters = sorted(set("".join(names)) | {EOS})
    char_to_ix = {c: i for i, c in enumerate(characters)}
    V = len(characters)
    order = np.random.default_rng(0).permutation(len(names))
    held_out, training = [names[i] for i in order[:500]], [names[i] for i in order[500:]]
    init = np.random.default_rng(1)
    p0 = {"Waa": init.standard_normal((N_A, N_A)) * 0.01, "Wax": init.standard_normal((N_A, V)) * 0.01,
          "ba": np.zeros((N_A, 1)), "Wya": init.standard_normal((V, N_A)) * 0.01, "by": np.zeros((V, 1))}
    shuffle = np.random.default_rng(2)
    schedule = [training[i] for _ in range(PASSES) for i in shuffle.permutation(len(training))]
    trained, losses = train(schedule, char_to_ix, p0, LEARNING_RATE, MAX_NORM)

    def perplexity(p):
        total = sum(scratch_loss(p, encode_name(n, char_to_ix)[1]) for n in held_out)
        return float(np.exp(total / sum(len(n) + 1 for n in held_out)))

    per_char = np.array(losses) / np.array([len(n) + 1 for n in schedule])
    smooth = np.log(V)
    for value in per_char:
        smooth = 0.99 * smooth + 0.01 * value

    def write(seed, tau):
        text = "".join(characters[i] for i in sample(trained, char_to_ix[EOS], seed, temperature=tau))
        return text[:-1] if text.endswith(EOS) else text + "..."

    table = {}
    for tau, seed in TABLE_SEEDS:
        draws = np.random.default_rng(seed)
        table[tau] = [write(draws, tau) for _ in range(10)]
    draws = np.random.default_rng(3)
    thousand = ["".join(characters[i] for i in sample(trained, char_to_ix[EOS], draws)) for _ in range(1000)]
    known = set(names)
    ended = [text for text in thousand if text.endswith(EOS)]
    # the names it writes, scored by its own teacher-forced loss, per character
    self_loss = (sum(scratch_loss(trained, [char_to_ix[c] for c in text]) for text in ended)
                 / sum(len(text) for text in ended))
    return {"self_loss": float(self_loss),
            "smoothed": smooth, "first_500": float(per_char[:500].mean()), "before": perplexity(p0),
            "after": perplexity(trained), "table": table, "known": known,
            "new": np.mean([t.rstrip(EOS) not in known for t in thousand]),
            "capital": np.mean([t[:1].isupper() and t.rstrip(EOS)[1:].islower() for t in thousand]),
            "eos": np.mean([t.endswith(EOS) for t in thousand])}


@pytest.fixture(scope="module")
def run():
    return corpus_run()


@pytest.mark.slow
def test_training_on_the_corpus_learns(run):
    assert run["before"] == pytest.approx(53.0, abs=0.05)  # a uniform guess: V
    assert run["smoothed"] < 2.3 < run["first_500"]  # well below log V = 3.97, and falling
    assert run["after"] < 10.0
    assert run["new"] > 0.8 and run["capital"] > 0.9 and run["eos"] > 0.95
    # sampling at temperature 1 draws from the model's own distribution: the names it writes cost it about
    # what unseen real names cost it (log of the held-out perplexity), not more
    assert abs(run["self_loss"] - np.log(run["after"])) < 0.25 * np.log(run["after"])


def _stated():
    cell = next(c.source for c in nbformat.read(CHAPTER, as_version=4).cells
                if c.cell_type == "markdown" and "### What a correct solution gives" in c.source)
    return cell, " ".join(cell.split())


@pytest.mark.slow
def test_the_chapter_states_what_the_reference_gives(run):
    cell, flat = _stated()
    assert f"smoothed loss of {run['smoothed']:.2f} per character" in flat
    assert f"falls from {run['before']:.2f} before training to {run['after']:.2f} after" in flat
    assert (f"{run['new']:.0%} are not in the census list, {run['capital']:.0%} start with a capital"
            in flat.replace("\\%", "%"))
    assert f"{run['eos']:.0%} end with" in flat.replace("\\%", "%")
    rows = dict(re.findall(r"^\| ([0-9.]+) \| (.+) \|$", cell, re.M))
    for tau, names in run["table"].items():
        shown = [n.replace("\\*", "*") for n in rows[f"{tau:g}"].split(", ")]
        assert shown == [n + ("*" if n in run["known"] else "") for n in names], tau


def test_the_notebook_trains_with_the_stated_set_up():
    cells = [c.source for c in nbformat.read(CHAPTER, as_version=4).cells if c.cell_type == "code"]
    setup = next(c for c in cells if "n_a, learning_rate, max_norm, passes =" in c)
    assert f"n_a, learning_rate, max_norm, passes = {N_A}, {LEARNING_RATE}, {MAX_NORM}, {PASSES}" in setup
    assert "split_rng = np.random.default_rng(0)" in setup and "init_rng = np.random.default_rng(1)" in setup
    training = next(c for c in cells if "trained, losses = train(" in c)
    assert "schedule_rng = np.random.default_rng(2)" in training and "0.99 * average + 0.01 * value" in training
    table = next(c for c in cells if "for tau, seed in" in c)
    assert f"for tau, seed in {TABLE_SEEDS}:" in table
