"""The visible tests catch the classic mistakes on their own.

A learner who runs the test cell under an exercise should hear about a classic mistake
there, in words that point at it, and not only from the grade. For every entry of a
chapter's ``MISTAKES`` (autograde.checks.chNN), the chapter is run with that one mistake
and every other exercise answered with the reference, up to the mistaken exercise's test
cell, with no hidden check anywhere: at least 90 % of the mistakes must make that cell
fail, with a message matching the chapter's ``VISIBLE_TESTS_SAY[mistake]``.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from autograde import course  # noqa: E402
from autograde.authoring import synthetic  # noqa: E402

CHAPTERS = course.chapters()
SHARE = 0.95

# assignment -> name -> (exercise, old text, new text, what the visible test should say): realistic
# slips beyond the chapter's MISTAKES, applied the same way (an edit of the reference body).
MORE_MISTAKES = {
    "ch04": {
        "softmax_sums_everything": ("softmax", "e / np.sum(e, axis=0, keepdims=True)", "e / np.sum(e)", r"COLUMN"),
        "sigmoid_instead_of_tanh": ("rnn_cell_forward", "a_next = np.tanh(z)", "a_next = 1 / (1 + np.exp(-z))",
                                    r"SIGMOID"),
        "relu_as_abs": ("rnn_cell_forward", "a_next = np.maximum(z, 0)", "a_next = np.abs(z)", r"max\(0, z\)"),
        "forward_last_step_missing": ("rnn_forward", "for t in range(T_x):", "for t in range(T_x - 1):",
                                      r"was not run"),
        "forward_caches_without_x": ("rnn_forward", "return a, y_pred, (caches, x)", "return a, y_pred, caches",
                                     r"caches should be \(list"),
    },
    "ch05": {
        "stack_weights_rows": ("stack_weights", "axis=1", "axis=0", r"side by side, along axis=1"),
        "stack_state_columns": ("stack_state_input", "axis=0", "axis=1", r"on top of the other, along axis=0"),
        "compact_without_softmax": ("rnn_cell_forward_compact", 'softmax(parameters["Wy"] @ a_next + parameters["by"])',
                                    'parameters["Wy"] @ a_next + parameters["by"]', r"softmax"),
        "count_without_by": ("parameter_count", "count += n_y * n_a + n_y", "count += n_y * n_a", r"by \(3\) is missing"),
    },
    "ch06": {
        "relu_derivative_is_value": ("rnn_cell_backward", "dz = da_next * (a_next > 0)", "dz = da_next * a_next",
                                     r"g'\(z\)"),
        "da0_zero": ("rnn_backward", "da0 = da_prevt", "da0 = np.zeros((n_a, m))", r"da0 .*step 1 sends back"),
        "bce_log10": ("binary_cross_entropy", "np.log(p)", "np.log10(p)", r"natural log"),
        "bce_sign": ("binary_cross_entropy", "losses = -(", "losses = (", r"MINUS"),
        "numgrad_not_restored": ("numerical_gradient", "point[i] = old  # put it back", "pass  # put it back",
                                 r"put each entry back"),
        "global_norm_as_max": ("clip_by_global_norm", "np.sqrt(sum(np.sum(g ** 2) for g in gradients.values()))",
                               "max(np.abs(g).max() for g in gradients.values())", r"ONE global norm"),
        "ce_loss_not_averaged": ("softmax_cross_entropy", "loss = -np.sum(y * log_probs) / m",
                                 "loss = -np.sum(y * log_probs)", r"averages over the batch"),
        "loss_mask_not_passed": ("rnn_loss_and_gradients", "binary_cross_entropy(y_hat, y, mask)",
                                 "binary_cross_entropy(y_hat, y)", r"WITHOUT the mask"),
    },
    "ch08": {
        "eos_assumed_zero_in_targets": ("encode_name", 'char_to_ix["\\n"]', "0", r"<EOS>"),
        "loss_log10": ("cross_entropy", "np.log(p_true)", "np.log10(p_true)", r"base 10"),
        "loss_log2": ("cross_entropy", "np.log(p_true)", "np.log2(p_true)", r"base 2"),
        "loss_indices_swapped": ("cross_entropy", "y_hat[targets, 0, np.arange(T_x)]",
                                 "y_hat[np.arange(T_x), 0, targets]", r"ROW"),
        "loss_every_probability": ("cross_entropy", "np.log(p_true)", "np.log(y_hat)", r"y_hat\[targets\[t\], 0, t\]"),
        "lm_a0_ignored": ("lm_loss_and_gradients", "rnn_forward(x, a0, parameters)",
                          "rnn_forward(x, np.zeros_like(a0), parameters)", r"from the a0"),
        "lm_first_state_returned": ("lm_loss_and_gradients", "a[:, :, -1]", "a[:, :, 0]", r"LAST step"),
        "clip_entry_by_entry": ("optimize_step", "gradients = clip_by_global_norm(gradients, max_norm)",
                                "gradients = {k: np.clip(g, -max_norm, max_norm) for k, g in gradients.items()}",
                                r"clip_by_global_norm"),
        "learning_rate_missing": ("optimize_step", "value - learning_rate * gradients", "value - gradients",
                                  r"learning rate is missing"),
        "train_parameters_not_passed_on": ("train", "loss, parameters, a_last = optimize_step",
                                           "loss, new_parameters, a_last = optimize_step", r"new parameters of the step"),
        "train_reversed": ("train", "for name in names:", "for name in reversed(names):", r"order given"),
        "train_shuffled": ("train", "for name in names:", "for name in np.random.default_rng(0).permutation(names):",
                           r"order given"),
        "sample_eos_assumed_first": ("sample", "if idx == eos_index:", "if idx == 0:", r"went on after drawing <EOS>"),
        "sample_by_ignored": ("sample", ' + parameters["by"]  # the logits', "  # the logits", r"by was left out"),
        "sample_first_input_ones": ("sample", "x = np.zeros((V, 1))  # x<1> = 0", "x = np.ones((V, 1))  # x<1> = 0",
                                    r"first input x<1> should be all zeros"),
        "sample_eos_left_out": ("sample", "indices.append(idx)\n    if idx == eos_index:\n        break",
                                "if idx == eos_index:\n        break\n    indices.append(idx)", r"should end with <EOS>"),
        "sample_stops_one_early": ("sample", "while len(indices) < max_length:", "while len(indices) < max_length - 1:",
                                   r"max_length"),
        "sample_global_seed": ("sample", "rng = np.random.default_rng(seed)", "np.random.seed(seed)\nrng = np.random",
                               r"default_rng"),
    },
}


def run_to_test(nb, exercise: str, folder) -> str | None:
    """Run the code cells of ``nb`` in a fresh namespace, up to the test cell of
    ``exercise``; its error as "Type: message", or None when it passed."""
    ns = {"__name__": "__main__"}
    with contextlib.chdir(folder), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(cell.source, f"<cell {cell.get('id')}>", "exec"), ns)
            except Exception as exc:  # noqa: BLE001 - a learner's cell may raise anything
                if grade_id == f"test_{exercise}":
                    return f"{type(exc).__name__}: {exc}"
            else:
                if grade_id == f"test_{exercise}":
                    return None
            finally:
                plt.close("all")
    raise AssertionError(f"no test cell test_{exercise}")


def caught(chapter) -> dict[str, tuple[bool, str | None]]:
    """mistake -> (caught with a message that points at it, the visible tests' message), for the
    chapter's MISTAKES and its MORE_MISTAKES."""
    checks = importlib.import_module(chapter.checks_module)
    says = dict(getattr(checks, "VISIBLE_TESTS_SAY", {}))
    more = MORE_MISTAKES.get(chapter.assignment, {})
    assert not set(more) & set(checks.MISTAKES), "a MORE_MISTAKES name is already a classic mistake"
    says.update({name: said for name, (_, _, _, said) in more.items()})
    every = {**checks.MISTAKES, **{name: (ex, old, new) for name, (ex, old, new, _) in more.items()}}
    found = {}
    with pytest.MonkeyPatch.context() as patch:  # synthetic.answer reads the edits from MISTAKES
        patch.setattr(checks, "MISTAKES", every)
        for mistake, (exercise, _, _) in every.items():
            found[mistake] = _caught(chapter, mistake, exercise, says)
    return found


def _caught(chapter, mistake, exercise, says):
    message = run_to_test(synthetic.submission(chapter, {exercise: mistake}), exercise, chapter.path.parent)
    pattern = says.get(mistake)
    return (message is not None and pattern is not None and re.search(pattern, message, re.S) is not None,
            message)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_reference_answers_pass_the_visible_tests(chapter):
    nb = synthetic.submission(chapter, "reference")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            exercise = cell.metadata["nbgrader"]["grade_id"].removeprefix("test_")
            assert run_to_test(nb, exercise, chapter.path.parent) is None, exercise


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_visible_tests_catch_the_classic_mistakes(chapter):
    found = caught(chapter)
    missed = {m: msg for m, (ok, msg) in found.items() if not ok}
    share = 1 - len(missed) / len(found)
    print(f"{chapter.assignment}: the visible tests catch {len(found) - len(missed)} of {len(found)} mistakes "
          f"({share:.0%})")
    assert share >= SHARE, f"{chapter.assignment} catches only {share:.0%}; missed (with the message seen):\n" + \
        "\n".join(f"  {m}: {msg}" for m, msg in missed.items())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_each_exercise_states_its_expected_output_above_its_test(chapter):
    """The Markdown cell right above each test cell (code cells between them allowed)
    says what the worked example should give, under the words "Expected output"."""
    import nbformat

    cells = nbformat.read(chapter.path, as_version=4).cells
    missing = []
    for i, cell in enumerate(cells):
        if cell.metadata.get("nbgrader", {}).get("grade"):
            above = next((c for c in reversed(cells[:i]) if c.cell_type == "markdown"), None)
            if above is None or "Expected output" not in above.source:
                missing.append(cell.metadata["nbgrader"]["grade_id"])
    assert missing == [], f"{chapter.assignment}: no expected output above {missing}"
