"""How should NNAQC's noise matrix W start? (the paper does not say)

W starts as ``s * I``; this script trains NNAQC on scikit-learn's digits with
eq. (1) label noise for several scales ``s``, noise rates and epoch budgets
and reports the clean-test error (mean and std over seeds), beside the same
network trained with plain cross-entropy (BaseModelClassifier).

Run (the committed results were made with exactly this)::

    python benchmarks/bench_w_init.py --out benchmarks/results/w_init.md

Quick smoke run (used by the test suite)::

    python benchmarks/bench_w_init.py --quick --out /tmp/w_init.md
"""

import argparse
import itertools
import platform
import sys
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknnaqc import BaseModelClassifier, NNAQCClassifier
from sknnaqc.noise import corrupt_labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 3.0, 4.0, 6.0])
    parser.add_argument("--noise-rates", type=float, nargs="+", default=[0.3, 0.5])
    parser.add_argument("--epochs", type=int, nargs="+", default=[20, 40, 80])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--out", default="benchmarks/results/w_init.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.scales, args.noise_rates, args.epochs, args.seeds = [1.0, 4.0], [0.5], [2], 1
    torch.set_num_threads(args.threads)

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    methods = [("plain CE", None)] + [(f"NNAQC s={s:g}", s) for s in args.scales]
    errors = {}
    start = time.time()
    for p, epochs, seed in itertools.product(args.noise_rates, args.epochs, range(args.seeds)):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, random_state=seed, stratify=y
        )
        y_noisy = corrupt_labels(y_tr, noise_rate=p, kind="random", random_state=seed)
        for name, scale in methods:
            common = dict(max_epochs=epochs, random_state=seed)
            if scale is None:
                clf = BaseModelClassifier(**common)
            else:
                clf = NNAQCClassifier(noise_init_scale=scale, **common)
            err = 1.0 - clf.fit(X_tr, y_noisy).score(X_te, y_te)
            errors.setdefault((p, epochs, name), []).append(100 * err)
        print(f"noise={p:.2f} epochs={epochs} seed={seed} done "
              f"({time.time() - start:.0f} s)", file=sys.stderr, flush=True)

    header = "| noise | epochs | " + " | ".join(name for name, _ in methods) + " |"
    lines = [header, "|" + "---|" * (len(methods) + 2)]
    for p, epochs in itertools.product(args.noise_rates, args.epochs):
        cells = []
        for name, _ in methods:
            e = np.array(errors[(p, epochs, name)])
            cells.append(f"{e.mean():.2f} ± {e.std():.2f}")
        lines.append(f"| {p:.0%} | {epochs} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    command = "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))
    with open(args.out, "w") as fh:
        fh.write("# W initialisation: clean-test error (%) of NNAQC on digits\n\n")
        fh.write(f"Command: `{command}`\n\n")
        fh.write(
            f"Machine: {platform.machine()}, {torch.get_num_threads()} torch thread(s), "
            f"torch {torch.__version__}; {args.seeds} seeds (mean ± std); eq. (1) noise; "
            "70/30 stratified split; default MLP (128 hidden), Adam lr 1e-3, batch 100; "
            f"wall time {time.time() - start:.0f} s.\n\n"
        )
        fh.write(table + "\n")


if __name__ == "__main__":
    main()
