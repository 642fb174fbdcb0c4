"""Every number the prose takes from a computation is the number the code prints.

Each chapter is run once with the reference answers (hidden tests cut out), and every
claim below pairs a sentence of the chapter's Markdown with a line its code prints: the
numbers the two capture must agree to the precision the prose states. The worked
examples computed by hand are checked elsewhere (tests/test_reference_chNN.py, and the
visible tests, which the reference must pass); chapter 8's training figures are checked
here as its notebook prints them, and its sampled names and shares in
tests/test_reference_ch08.py. Timings are not checked: the prose states what
bench/ch08_training.py measured. Slow tier: it runs chapters with a kernel.
"""
from __future__ import annotations

import re

import nbclient
import nbformat
import pytest

from autograde import course
from autograde.authoring import synthetic
from autograde.authoring.markers import strip_hidden

pytestmark = pytest.mark.slow

# (chapter, a regex of the prose, a regex of what the code prints): the groups pair up.
CLAIMS = [
    (1, r"lasts ([\d.]+) seconds, yet at 8 kHz that is ([\d,]+) samples",
        r"([\d.]+) seconds of sound, ([\d,]+) samples"),
    (1, r"dense_parameter_count\(50, 10_000, 100, 2\)\s+= ([\d,]+)", r"T_max = 50: dense ([\d,]+) parameters"),
    (1, r"rnn_parameter_count\(10_000, 100, 2\)\s+= ([\d,]+)", r"T_max = 50: dense [\d,]+ parameters, RNN ([\d,]+)"),
    (3, r"the 100 most frequent words already cover (\d+)% of the text.*?the 10,000 most frequent cover (\d+)%",
        r"the 100 most frequent cover (\d+)% of the tokens, the 10,000 most frequent (\d+)%"),
    (6, r"difference gives \$([\d.]+)\$ and the centred one \$([\d.]+)\$",
        r"one-sided: ([\d.]+)\s+centred: +([\d.]+)"),
    (6, r"prints errors between \$(\d) \\times 10\^\{(-\d+)\}\$ and \$(\d) \\times 10\^\{(-\d+)\}\$",
        r"relative errors between (\d)e(-\d+) and (\d)e(-\d+): correct"),
    (6, r"20 steps back the gradient is between \$10\^\{(-\d+)\}\$ and \$(\d) \\times 10\^\{(-\d+)\}\$",
        r"20 steps back: between 1e(-\d+) and (\d)e(-\d+)"),
    (6, r"The loss starts at ([\d.]+) per word.*?active in (\d+) of the (\d+) steps.*?it ends at ([\d.]+) per word",
        r"loss per word: ([\d.]+) at the start, ([\d.]+) at the end; the clip was active in (\d+) of the (\d+) steps"),
    (8, r"that leaves ([\d,]+) different names", r"(\d+) different first names"),
    (8, r"perplexity should be very close to \$V = (\d+)\$", r"V = (\d+) characters"),
    (8, r"Below, (\d+) names are set aside", r"(\d+) held out"),
    (8, r"(\d+) hidden units", r"a hidden state of (\d+) units"),
    (8, r"over the ([\d,]+) training names in a new random order each time, so ([\d,]+) steps",
        r"([\d,]+) names to train on.*?([\d,]+) steps in"),
    (8, r"smoothed loss of ([\d.]+) per character", r"smoothed loss per character at the end: ([\d.]+)"),
    (8, r"perplexity on the 500 held-out names falls from ([\d.]+) before training to ([\d.]+) after",
        r"perplexity on the held-out names: ([\d.]+) before training, ([\d.]+) after"),
]
# the order in which the printed groups meet the prose's, where the sentences differ
ORDER = {r"loss per word: ([\d.]+) at the start, ([\d.]+) at the end; the clip was active in (\d+) of the (\d+) steps":
         (0, 2, 3, 1)}


def same(prose: str, printed: str) -> bool:
    """The printed number rounds to the prose's, at the prose's precision."""
    p, o = prose.replace(",", ""), printed.replace(",", "")
    decimals = len(p.split(".", 1)[1]) if "." in p else 0
    return abs(float(p) - float(o)) <= 0.5 * 10 ** -decimals + 1e-12


def run(chapter, answers="reference", until=None) -> nbformat.NotebookNode:
    nb = synthetic.submission(chapter, answers)
    cells = nb.cells if until is None else nb.cells[: until + 1]
    nb.cells = [c for c in cells if not (c.cell_type == "code" and until is not None
                                         and c.metadata.get("nbgrader", {}).get("grade"))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_hidden(cell.source)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(chapter.path.parent)}}).execute()
    return nb


def printed(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stdout")


def prose(nb) -> str:
    return re.sub(r"\s+", " ", "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))


@pytest.fixture(scope="module")
def runs():
    return {n: run(course.chapters()[n - 1]) for n in sorted({n for n, _, _ in CLAIMS})}


@pytest.mark.parametrize("number,said,shown", CLAIMS, ids=[f"ch{n:02d}-{k}" for k, (n, _, _) in enumerate(CLAIMS)])
def test_the_prose_states_what_the_code_prints(runs, number, said, shown):
    nb = runs[number]
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.get("output_type") == "error"], f"chapter {number} raised with the reference answers"
    in_prose = re.search(said, prose(nb), re.S)
    in_output = re.search(shown, printed(nb), re.S)
    assert in_prose, f"chapter {number}: the prose no longer says {said!r}"
    assert in_output, f"chapter {number}: the code no longer prints {shown!r}"
    values = in_output.groups()
    values = tuple(values[k] for k in ORDER.get(shown, range(len(values))))
    assert all(same(p, o) for p, o in zip(in_prose.groups(), values)), \
        f"chapter {number}: the prose says {in_prose.groups()}, the code prints {values}"


def test_chapter_8_counts_the_names_in_both_lists_once(runs):
    """The corpus sentence: the two census lists, with a name in both kept once."""
    from importlib import resources

    listed = [len([r for r in (resources.files("names") / f).read_text().splitlines() if r.strip()])
              for f in ("dist.female.first", "dist.male.first")]
    kept = int(re.search(r"(\d+) different first names", printed(runs[8])).group(1))
    text = prose(runs[8])
    assert f"{listed[0]:,} female and {listed[1]:,} male names" in text
    assert f"is kept once: that leaves {kept:,} different names" in text and kept < sum(listed)


def test_chapter_3_leaves_to_unk_what_its_vocabulary_does_not_cover(runs):
    covered = int(re.search(r"the 10,000 most frequent (\d+)%", printed(runs[3])).group(1))
    assert f"cover {covered}%, leaving {100 - covered}% of the tokens" in prose(runs[3])


def test_chapter_6_states_how_far_its_gradient_check_sees_the_classic_bugs():
    """The prose: "the classic BPTT bugs of this chapter give relative errors between
    0.048 and 1". Run the chapter's own gradient check with each classic mistake of the
    backward pass in turn: every error that shows (above the 1e-4 of "a bug") lies in the
    stated range, and the smallest rounds to the stated lower end."""
    ch06 = course.by_assignment("ch06")
    check = next(i for i, c in enumerate(nbformat.read(ch06.path, as_version=4).cells)
                 if c.cell_type == "code" and "def gradient_check" in c.source)
    said = re.search(r"classic BPTT bugs of this chapter give relative errors between \$([\d.]+)\$ and \$(\d+)\$",
                     prose(nbformat.read(ch06.path, as_version=4)))
    assert said, "chapter 6 no longer states the range of the bugs' errors"
    seen = {}
    for mistake, (exercise, _, _) in synthetic.mistakes(ch06).items():
        if exercise not in ("rnn_cell_backward", "rnn_backward", "rnn_loss_and_gradients"):
            continue
        nb = run(ch06, {exercise: mistake}, until=check)
        errors = [float(v) for v in re.findall(r"\d\.\de[-+]\d+", printed(nb)) if float(v) > 1e-4]
        if errors:
            seen[mistake] = errors
    assert len(seen) >= 10, sorted(seen)  # the check sees most of them (a mask bug needs a mask)
    every = [e for errors in seen.values() for e in errors]
    assert f"{min(every):.2g}" == f"{float(said.group(1)):.2g}", (min(every), said.group(1))
    assert max(every) <= float(said.group(2)) + 0.05, max(every)  # printed with 2 digits: 1.0
