"""NNAQC at high noise: which reading of ``L_QC`` and which remedies hold up (issue 10).

Candidates, all on the same network, data, epochs and seeds:

* ``base``: plain cross-entropy (the control);
* ``nnaqc``: the paper's formula as written, ``beta = 0.9`` on the model's own
  prediction inside ``L_QC`` (the library default before this study);
* ``nna``: the noise model alone (``alpha = 1``);
* ``nnaqc_label``: the label-weighted reading, 0.9 on the given label and 0.1
  on the prediction (``beta = 0.1`` in the paper's formula), which is what the
  paper's Table 5 suggests its code did (its "QC only" rows equal its soft
  bootstrapping rows);
* ``nnaqc_sg``: the stop-gradient reading (target ``beta * y_hat + (1 - beta) *
  onehot`` treated as a constant). Its gradient is ``(1 - beta)`` times the
  cross-entropy gradient, so it is trained here as ``alpha' = 0.9 / 0.91``,
  ``beta = 0`` (the same gradient up to a constant factor, which Adam ignores);
* ``*_wd``: the same with L2 weight decay 0.01 on ``W`` alone (the authors'
  text-classification code regularises the noise layer this way).

The script runs one or more *settings* (dataset, network, training size,
epochs, noise kinds and rates) through :func:`sknnaqc.experiment.run_experiment`,
so finished runs are kept in ``<out>/<setting>/runs.csv`` and skipped when the
script is started again.

Commands used for the committed results (``benchmarks/results/high_noise/``)::

    python benchmarks/bench_high_noise.py --setting digits --threads 1
    python benchmarks/bench_high_noise.py --setting fmnist-mlp --threads 1
    python benchmarks/bench_high_noise.py --setting fmnist-lenet --threads 1

Quick smoke run (used by the test suite)::

    python benchmarks/bench_high_noise.py --quick --out /tmp/high_noise
"""

import argparse
import csv
import os
import platform
import shlex
import sys
import time

import torch

# The early-stopping recipe is the peers benchmark's (benchmarks/ is not a package).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_peers import early_stopped  # noqa: E402
from sknnaqc import NNAQCClassifier  # noqa: E402
from sknnaqc.experiment import METHODS, Method, run_experiment, write_summary  # noqa: E402
from sknnaqc.networks import MLP  # noqa: E402

W_DECAY = [("noise_model.weight", {"weight_decay": 0.01})]
CANDIDATES = {
    "nnaqc_label": Method("NNAQC, label-weighted QC (beta=0.1)",
                          lambda c, T: NNAQCClassifier(beta=0.1, class_balance=0.0, **c)),
    "nnaqc_sg": Method("NNAQC, stop-gradient QC",
                       lambda c, T: NNAQCClassifier(alpha=0.9 / 0.91, beta=0.0,
                                                    class_balance=0.0, **c)),
    "nnaqc_wd": Method("NNAQC (beta=0.9), W decay 0.01",
                       lambda c, T: NNAQCClassifier(beta=0.9, class_balance=0.0,
                                                    optimizer__param_groups=W_DECAY,
                                                    **c)),
    "nnaqc_label_wd": Method("NNAQC, label-weighted QC, W decay 0.01",
                             lambda c, T: NNAQCClassifier(beta=0.1, class_balance=0.0,
                                                          optimizer__param_groups=W_DECAY, **c)),
    "nnaqc_b03": Method("NNAQC, beta=0.3",
                        lambda c, T: NNAQCClassifier(beta=0.3, class_balance=0.0, **c)),
    "nnaqc_b05": Method("NNAQC, beta=0.5",
                        lambda c, T: NNAQCClassifier(beta=0.5, class_balance=0.0, **c)),
    # "nnaqc_paper" (the paper's loss exactly) comes from sknnaqc.experiment.METHODS.
    "nnaqc_bal01": Method("NNAQC, paper's loss + class balance 0.1",
                          lambda c, T: NNAQCClassifier(beta=0.9, class_balance=0.1, **c)),
    "nnaqc_bal03": Method("NNAQC, paper's loss + class balance 0.3",
                          lambda c, T: NNAQCClassifier(beta=0.9, class_balance=0.3, **c)),
    # Milder noise-model dropout than Regu. NNAQC's 0.5 (issue 10 follow-up).
    "nnaqc_drop01": Method("NNAQC, noise-model dropout 0.1",
                           lambda c, T: NNAQCClassifier(noise_dropout=0.1, **c)),
    "nnaqc_drop02": Method("NNAQC, noise-model dropout 0.2",
                           lambda c, T: NNAQCClassifier(noise_dropout=0.2, **c)),
    # Not a loss setting: the defaults plus early stopping on a noisy validation split.
    "nnaqc_es": Method("NNAQC + early stopping (noisy val.)",
                       lambda c, T: early_stopped(NNAQCClassifier, c)),
}


ALL = ["base", "nna", "nnaqc_paper", "nnaqc_b05", "nnaqc_b03", "nnaqc_label", "nnaqc_sg",
       "nnaqc_wd", "nnaqc_label_wd", "nnaqc_bal01", "nnaqc_bal03"]

# name -> (dataset, estimator params, train size, epochs, [(noise kind, rates)], seeds, methods)
SETTINGS = {
    "digits": ("digits", {}, None, 40,
               [("random", [0.0, 0.3, 0.5, 0.7]), ("symmetric", [0.5, 0.8]),
                ("pairflip", [0.45])], 5, ALL),
    "fmnist-mlp": ("fashion-mnist", {"module": MLP, "module__n_features": 784}, 20000, 20,
                   [("random", [0.0, 0.3, 0.5, 0.7]), ("symmetric", [0.5]),
                    ("pairflip", [0.45])], 3,
                   ["base", "nna", "nnaqc_paper", "nnaqc_b05", "nnaqc_label", "nnaqc_sg",
                    "nnaqc_bal01", "nnaqc_bal03"]),
    "fmnist-lenet": ("fashion-mnist", {}, 20000, 20,
                     [("random", [0.0, 0.5, 0.7])], 2, ["base", "nnaqc_paper", "nnaqc_label"]),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), nargs="+", default=["digits"])
    parser.add_argument("--methods", nargs="+", default=None,
                        help="override the setting's methods")
    parser.add_argument("--seeds", type=int, default=None, help="override the setting's seeds")
    parser.add_argument("--noise-rates", type=float, nargs="+", default=None,
                        help="override the setting's noise rates (every kind)")
    parser.add_argument("--noise-kinds", nargs="+", default=None,
                        help="only these of the setting's noise kinds (e.g. random)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/high_noise")
    parser.add_argument("--summary-only", action="store_true",
                        help="rewrite the tables from runs.csv without training")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: digits, 2 epochs, 1 seed, 2 methods")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    METHODS.update(CANDIDATES)
    command = "python benchmarks/bench_high_noise.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    for name in args.setting:
        dataset, params, n_train, epochs, noises, seeds, methods = SETTINGS[name]
        methods = args.methods or methods
        seeds = args.seeds or seeds
        if args.noise_rates:
            noises = [(kind, args.noise_rates) for kind, _ in noises]
        if args.noise_kinds:
            noises = [(kind, rates) for kind, rates in noises if kind in args.noise_kinds]
        if args.quick:
            epochs, seeds, methods, noises = 2, 1, ["base", "nnaqc_label"], [("random", [0.5])]
        out = os.path.join(args.out, name)
        for kind, rates in noises:
            start = time.time()
            if args.summary_only:
                with open(os.path.join(out, "runs.csv"), newline="") as fh:
                    rows = [r for r in csv.DictReader(fh) if r["noise_kind"] == kind
                            and r["method"] in methods and float(r["noise_rate"]) in rates
                            and int(r["seed"]) < seeds]
                table = write_summary(rows, os.path.join(out, kind),
                                      title=f"{name}: clean-test error, {kind} noise",
                                      command=command, notes="Tables rewritten from runs.csv.",
                                      method_order=[m for m in methods
                                                    if any(r["method"] == m for r in rows)])
                print(f"\n## {name}, {kind} noise\n\n{table}", flush=True)
                continue
            rows = run_experiment(
                dataset=dataset, noise_kind=kind, noise_rates=rates, methods=methods,
                train_sizes=[n_train], seeds=range(seeds), epochs=epochs,
                results_csv=os.path.join(out, "runs.csv"), estimator_params=params,
            )
            notes = (f"Setting {name}: {dataset}, {n_train or 'all'} training samples, "
                     f"network {params.get('module', 'default').__name__ if 'module' in params else 'default'}"
                     f", {epochs} epochs, Adam lr 1e-3, batch 100, noise kind {kind}. "
                     f"{torch.get_num_threads()} torch thread(s), {platform.processor() or platform.machine()}; "
                     f"wall time of this call {time.time() - start:.0f} s "
                     "(runs already in runs.csv are not re-run).")
            table = write_summary(rows, os.path.join(out, kind),
                                  title=f"{name}: clean-test error, {kind} noise",
                                  command=command, notes=notes, method_order=methods)
            print(f"\n## {name}, {kind} noise\n\n{table}", flush=True)


if __name__ == "__main__":
    main()
