"""What happens to NNAQC at 70 % noise: where the clean branch's errors go, and what ``W`` learned.

For each seed it corrupts digits' training labels with eq. (1) noise, fits the
base model, NNAQC with the paper's loss (``beta = 0.9`` on the prediction,
``class_balance=0``), NNAQC with the label-weighted reading of ``L_QC``
(``beta = 0.1``) and NNAQC with the library defaults (the paper's loss plus
the class-balance term), and classifies every true class of the clean test
set by what the clean branch does with it:

* ``right``: its most frequent prediction is the class itself;
* ``noise-majority``: it is predicted as ``argmax_k T[i, k]``, a class that
  received at least as many of its labels as the true one did (a class the
  noise makes non-identifiable: ``T[i, k] >= T[i, i]``);
* ``merged``: predicted as a class that other true classes are also mapped to;
* ``other``: anything else.

It also counts how many distinct classes the clean branch predicts, and
reports ``W``'s implied matrix against the true one (mean diagonal).

Command used for the committed results::

    python benchmarks/diagnose_high_noise.py --out benchmarks/results/high_noise/diagnosis.md
"""

import argparse
import shlex
import sys

import numpy as np
import torch
from sklearn.metrics import confusion_matrix

from sknnaqc import BaseModelClassifier, NNAQCClassifier
from sknnaqc.experiment import load_experiment_data
from sknnaqc.noise import _uninformative_classes, corrupt_labels, make_transition_matrix

MODELS = {
    "Base model": lambda s: BaseModelClassifier(max_epochs=40, random_state=s),
    "NNAQC, paper's loss": lambda s: NNAQCClassifier(class_balance=0.0, max_epochs=40,
                                                    random_state=s),
    "NNAQC, label-weighted (beta=0.1)": lambda s: NNAQCClassifier(
        beta=0.1, class_balance=0.0, max_epochs=40, random_state=s),
    "NNAQC (defaults: + class balance 0.3)": lambda s: NNAQCClassifier(max_epochs=40,
                                                                      random_state=s),
}


def classify_rows(C, T):
    """Label each true class by where its test images go (see module docstring)."""
    pred_of = C.argmax(axis=1)
    counts = np.bincount(pred_of, minlength=len(C))
    kinds = []
    for i, k in enumerate(pred_of):
        noisy_major = T[i, k] >= T[i, i]
        if k == i:
            kinds.append("right")
        elif noisy_major:
            kinds.append("noise-majority")
        elif counts[k] > 1:
            kinds.append("merged")
        else:
            kinds.append("other")
    return kinds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-rate", type=float, default=0.7)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=None, help="write the Markdown report here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y, Xt, yt, _ = load_experiment_data("digits")
    lines = [f"# Diagnosis at {args.noise_rate:.0%} eq. (1) noise (digits, default MLP, "
             "40 epochs)", "",
             "Command: `python benchmarks/diagnose_high_noise.py " + " ".join(
                 shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)) + "`", "",
             "Per seed and model: clean-test error, how many distinct classes the clean "
             "branch predicts, and the 10 true classes by what happens to them "
             "(right / noise-majority / merged / other; see the script's docstring). "
             "`non-id` is the number of true classes that the noise itself makes "
             "non-identifiable (some `T[i, k] >= T[i, i]`). `diag W` is the mean diagonal "
             "of `noise_matrix_` (true mean diagonal: 1 - noise rate).", "",
             "| seed | non-id | model | error % | classes predicted | right | noise-majority "
             "| merged | other | diag W |", "|---|---|---|---|---|---|---|---|---|---|"]
    for seed in range(args.seeds):
        T = make_transition_matrix(10, args.noise_rate, kind="random", random_state=seed)
        y_noisy = corrupt_labels(y, transition_matrix=T, random_state=seed)
        non_id = len(_uninformative_classes(T))
        for name, build in MODELS.items():
            clf = build(seed).fit(X, y_noisy)
            pred = clf.predict(Xt)
            C = confusion_matrix(yt, pred, labels=np.arange(10))
            kinds = classify_rows(C, T)
            diag_w = float(np.mean(np.diag(clf.noise_matrix_)))
            lines.append(
                f"| {seed} | {non_id} | {name} | {100 * np.mean(pred != yt):.1f} | "
                f"{len(np.unique(pred))} | {kinds.count('right')} | "
                f"{kinds.count('noise-majority')} | {kinds.count('merged')} | "
                f"{kinds.count('other')} | {diag_w:.2f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
