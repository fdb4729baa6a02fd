"""Why NNAQC stays far above clean-label error on the paper's LeNet at high noise.

Refits single cells of the 20-epoch Table 1 (Fashion-MNIST, stratified 20K subset,
the paper's MNIST LeNet, Adam lr 1e-3, batch 100, eq. (1) noise; the same subset,
noise and seeds as ``bench_fashion_table1.py``, so the final errors must equal
that table's rows) while recording the clean-test error after every epoch, and
reports, for the final clean branch, what happens to each true class (right /
noise-majority / merged / other, as in ``diagnose_high_noise.py``) and the mean
diagonal of the learned noise matrix.

The question it answers: does NNAQC reach a good clean branch and then memorise
the wrong labels late in training (a curve that turns up), or does it never get
there (a flat curve, merged classes)?

Command used for the committed results::

    python benchmarks/diagnose_lenet.py --noise-rate 0.7 --seed 0 \
        --out benchmarks/results/high_noise/lenet_curves
"""

import argparse
import os
import shlex
import sys
import time

import numpy as np
import torch
from sklearn.metrics import confusion_matrix

# The helpers below live in sibling scripts (benchmarks/ is not a package).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_peers import CleanTestError, early_stopped, plot_error_curves  # noqa: E402
from diagnose_high_noise import classify_rows  # noqa: E402
from sknnaqc import BaseModelClassifier, NNAQCClassifier  # noqa: E402
from sknnaqc.experiment import _subsample, load_experiment_data  # noqa: E402
from sknnaqc.noise import (  # noqa: E402
    _uninformative_classes, corrupt_labels, make_transition_matrix)


MODELS = {
    "base": ("Base model", lambda c: BaseModelClassifier(**c)),
    "nnaqc": ("NNAQC (defaults)", lambda c: NNAQCClassifier(**c)),
    "regu_nnaqc": ("Regu. NNAQC (noise_dropout=0.5)",
                   lambda c: NNAQCClassifier(noise_dropout=0.5, **c)),
    "base_es": ("Base + early stopping (noisy val.)",
                lambda c: early_stopped(BaseModelClassifier, c)),
    "nnaqc_es": ("NNAQC + early stopping (noisy val.)",
                 lambda c: early_stopped(NNAQCClassifier, c)),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-rate", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", choices=sorted(MODELS),
                        default=["nnaqc", "regu_nnaqc", "base"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None,
                        help="folder for report_<noise>_<seed>.md and curves_<noise>_<seed>.png")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: digits, default MLP, 2 epochs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/diagnose_lenet.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))

    if args.quick:
        X, y, Xt, yt, module = load_experiment_data("digits")
        args.epochs = 2
    else:
        X, y, Xt, yt, module = load_experiment_data("fashion-mnist", args.data_dir)
        X, y = _subsample(X, y, args.train_size)
    T = make_transition_matrix(10, args.noise_rate, kind="random", random_state=args.seed)
    y_noisy = corrupt_labels(y, transition_matrix=T, random_state=args.seed)
    non_id = len(_uninformative_classes(T))

    curves, rows = {}, []
    for key in args.methods:
        label, build = MODELS[key]
        clf = build(dict(module=module, max_epochs=args.epochs, batch_size=100,
                         random_state=args.seed, callbacks=[CleanTestError(Xt, yt)]))
        start = time.time()
        clf.fit(X, y_noisy)
        seconds = time.time() - start
        curve = np.asarray(clf.history_[:, "clean_test_error"])
        curves[key] = curve
        pred = clf.predict(Xt)
        kinds = classify_rows(confusion_matrix(yt, pred, labels=np.arange(10)), T)
        diag_w = (float(np.mean(np.diag(clf.noise_matrix_)))
                  if hasattr(clf, "noise_matrix_") else float("nan"))
        best = int(curve.argmin())
        rows.append(
            f"| {label} | {100 * np.mean(pred != yt):.2f} | {curve[best]:.2f} (epoch {best + 1}) "
            f"| {len(np.unique(pred))} | {kinds.count('right')} | "
            f"{kinds.count('noise-majority')} | {kinds.count('merged')} | "
            f"{kinds.count('other')} | {diag_w:.2f} | {seconds:.0f} |")
        print(rows[-1], flush=True)

    epochs = max(len(c) for c in curves.values())
    lines = [f"# Clean-test error per epoch at {args.noise_rate:.0%} eq. (1) noise, "
             f"seed {args.seed}", "", f"Command: `{command}`", "",
             f"{len(y)} training images; {non_id} of the 10 true classes are made "
             "non-identifiable by this noise draw (some `T[i, k] >= T[i, i]`). Final and "
             "best-epoch clean-test error (%), distinct classes the clean branch predicts, "
             "the 10 true classes by what happens to them, mean diagonal of "
             f"`noise_matrix_` (true: {np.mean(np.diag(T)):.2f}), fit seconds (one thread, "
             "shared machine).", "",
             "| model | final error | best epoch | classes predicted | right | "
             "noise-majority | merged | other | diag W | fit s |",
             "|---|---|---|---|---|---|---|---|---|---|", *rows, "",
             "Clean-test error (%) after each epoch:", "",
             "| epoch | " + " | ".join(MODELS[k][0] for k in curves) + " |",
             "|---|" + "---|" * len(curves)]
    for e in range(epochs):
        lines.append(f"| {e + 1} | " + " | ".join(
            f"{c[e]:.2f}" if e < len(c) else "" for c in curves.values()) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        tag = f"random{round(100 * args.noise_rate)}_seed{args.seed}"
        with open(os.path.join(args.out, f"report_{tag}.md"), "w") as fh:
            fh.write(text)
        plot_error_curves({MODELS[k][0]: c for k, c in curves.items()},
                          os.path.join(args.out, f"curves_{tag}.png"),
                          f"Paper's LeNet, F-MNIST {len(y)}, {args.noise_rate:.0%} eq. (1) "
                          f"noise, seed {args.seed}")


if __name__ == "__main__":
    main()
