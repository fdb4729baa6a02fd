"""Finding the wrong labels: sknnaqc's label-issue methods against cleanlab.

Fashion-MNIST (a stratified 20K subset of the training images), labels
corrupted with known noise (symmetric 20 % and 40 %, pair-flip 30 %, the
paper's eq. (1) "random" 40 %), several seeds. We know which labels were
flipped, so every method's flagged set gets precision, recall and F1, its
scores the area under the precision-recall curve (average precision, flipped
labels as positives, low score = suspicious), its noise-rate estimate the
absolute error against the realised noise rate, and a wall time (training
included). Methods, each from its own fits of the same network:

* ``nnaqc``: ours from ONE ``NNAQCClassifier`` fit (clean branch, in-sample);
* ``base``: ours from ONE ``BaseModelClassifier`` fit (plain cross-entropy);
* ``nnaqc_cv5``: ours with ``cv=5`` (out-of-fold NNAQC probabilities, 5 fits);
* ``cleanlab``: ``cleanlab.filter.find_label_issues(labels, pred_probs)`` and
  ``cleanlab.rank.get_label_quality_scores`` with 5-fold out-of-fold
  ``pred_probs`` of a plain ``skorch.NeuralNetClassifier`` (same network,
  epochs and optimiser), noise rate ``1 - trace(cleanlab.count.estimate_joint)``;
* ``ours_on_cleanlab_probs``: our rule on those same out-of-fold probabilities
  (no extra fit; isolates the rule from the probabilities).

A second table compares the scoring rules (average precision) on each
source of probabilities; it is how the default rule was chosen.

Runs are appended to ``<out>/runs.csv`` as each unit (one network, noise,
seed and source of probabilities) finishes and are skipped when the script
is started again, so a long run resumes. Order: seed-major.

Commands used for the committed results (one torch thread, one process, the
two run one after the other; ``PYTHONPATH`` pointed at the checkout)::

    python benchmarks/bench_label_issues.py --nets mlp --epochs 20 --threads 1 \\
        --out benchmarks/results/label_issues/mlp
    python benchmarks/bench_label_issues.py --nets lenet --epochs 5 --seeds 1 \\
        --threads 1 --out benchmarks/results/label_issues/lenet

LeNet ran with fewer epochs and one seed for lack of CPU time (2 shared cores).

Sample output (one line per unit on stderr, from the committed MLP run, which
printed the self-confidence score's AP, the default when it started; then the
tables of ``summary.md``)::

    [1/48] mlp symmetric 20% seed 0 nnaqc: AP 0.957 F1 0.862 (21 s, elapsed 21 s)
    [2/48] mlp symmetric 20% seed 0 base: AP 0.920 F1 0.821 (20 s, elapsed 41 s)
    [3/48] mlp symmetric 20% seed 0 nnaqc_cv5: AP 0.948 F1 0.801 (122 s, elapsed 163 s)
    [4/48] mlp symmetric 20% seed 0 cleanlab: AP 0.936 F1 0.819 (159 s, elapsed 322 s)

Quick smoke run (digits, MLP, 3 epochs; used by the test suite)::

    python benchmarks/bench_label_issues.py --quick --out /tmp/label_issues
"""

import argparse
import csv
import inspect
import os
import platform
import sys
import time

import numpy as np
import torch
from sklearn.metrics import average_precision_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from sknnaqc import BaseModelClassifier, NNAQCClassifier
from sknnaqc import label_issues as li
from sknnaqc.networks import MLP, mnist_lenet
from sknnaqc.noise import corrupt_labels, make_transition_matrix

NOISES = {  # name -> (kind, rate)
    "sym20": ("symmetric", 0.2),
    "sym40": ("symmetric", 0.4),
    "pair30": ("pairflip", 0.3),
    "rand40": ("random", 0.4),
}
SOURCES = ["nnaqc", "base", "nnaqc_cv5", "cleanlab"]
LABELS = {
    "nnaqc": "ours: NNAQC, 1 fit",
    "base": "ours: base model, 1 fit",
    "nnaqc_cv5": "ours: NNAQC, cv=5",
    "cleanlab": "cleanlab (5-fold skorch net)",
    "ours_on_cleanlab_probs": "ours: rule on cleanlab's 5-fold probs",
}
# Scoring rules compared (all from the same probabilities).
RULES = ["self_confidence", "normalized_margin", "posterior", "posterior_fitted"]
# The library's default scoring rule: the main table shows it for our methods.
DEFAULT_RULE = inspect.signature(li.find_label_issues).parameters["method"].default
FIELDS = ["net", "n_train", "epochs", "noise", "seed", "source", "method", "variant",
          "true_rate", "est_rate", "n_flagged", "precision", "recall", "f1", "ap", "seconds"]


def load_data(quick, n_train):
    if quick:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y.astype(np.int64)
    from sknnaqc.datasets import load_fashion_mnist
    from sklearn.model_selection import train_test_split

    X, y = load_fashion_mnist(subset="train")
    idx, _ = train_test_split(np.arange(len(y)), train_size=n_train, random_state=0, stratify=y)
    idx = np.sort(idx)
    return X[idx], y[idx]


def network(name, X):
    """(module, module kwargs, input array) for a network name."""
    if name == "mlp":
        Xf = X.reshape(len(X), -1)
        return MLP, dict(module__n_features=Xf.shape[1], module__hidden=(256,)), Xf
    if name == "lenet":
        return mnist_lenet, {}, X
    raise ValueError(f"unknown network {name!r}")


def flag_metrics(flagged, flipped):
    p, r, f, _ = precision_recall_fscore_support(flipped, flagged, average="binary",
                                                 zero_division=0)
    return dict(n_flagged=int(flagged.sum()), precision=round(p, 4), recall=round(r, 4),
                f1=round(f, 4))


def ours_rows(proba, y_noisy, flipped, noise_matrix=None):
    """Our default rule plus every scoring rule's average precision."""
    rows = []
    _, rate = li.estimate_noise(proba, y_noisy)
    off = li.find_label_issues(proba, y_noisy, method=DEFAULT_RULE, filter_by="off_diagonal")
    scores = li.label_quality_scores(proba, y_noisy, method=DEFAULT_RULE)
    rows.append(dict(variant="filter=off_diagonal", est_rate=round(rate, 4),
                     ap=round(average_precision_score(flipped, 1 - scores), 4),
                     **flag_metrics(off, flipped)))
    for rule in RULES:
        if rule == "posterior_fitted":
            if noise_matrix is None:
                continue
            s = li.label_quality_scores(proba, y_noisy, method="posterior",
                                        noise_matrix=noise_matrix)
            m = li.find_label_issues(proba, y_noisy, method="posterior",
                                     noise_matrix=noise_matrix)
        else:
            s = li.label_quality_scores(proba, y_noisy, method=rule)
            m = li.find_label_issues(proba, y_noisy, method=rule)
        rows.append(dict(variant=f"score={rule}", est_rate=round(rate, 4),
                         ap=round(average_precision_score(flipped, 1 - s), 4),
                         **flag_metrics(m, flipped)))
    return rows


def run_unit(source, net, X, y_noisy, flipped, seed, epochs):
    """Fit what ``source`` needs; return result rows (without the shared keys)."""
    module, module_kw, Xn = network(net, X)
    common = dict(module=module, max_epochs=epochs, batch_size=100, random_state=seed,
                  **module_kw)
    t0 = time.time()
    if source in ("nnaqc", "base"):
        cls = NNAQCClassifier if source == "nnaqc" else BaseModelClassifier
        clf = cls(**common).fit(Xn, y_noisy)
        proba = clf.predict_proba(Xn)
        seconds = time.time() - t0
        rows = ours_rows(proba, y_noisy, flipped,
                         noise_matrix=clf.noise_matrix_ if source == "nnaqc" else None)
        return [dict(r, method=source, seconds=round(seconds, 1)) for r in rows]
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    if source == "nnaqc_cv5":
        clf = NNAQCClassifier(**common)
        # The estimator's own cross-fitting path (what a user calls).
        proba, codes = clf._label_proba(Xn, y_noisy, cv)
        seconds = time.time() - t0
        rows = ours_rows(proba, codes, flipped)
        return [dict(r, method=source, seconds=round(seconds, 1)) for r in rows]
    if source == "cleanlab":
        import cleanlab
        from skorch import NeuralNetClassifier

        n_classes = int(y_noisy.max()) + 1
        kw = dict(module_kw, module__n_classes=n_classes)
        torch.manual_seed(seed)
        plain = NeuralNetClassifier(
            module, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam,
            lr=1e-3, max_epochs=epochs, batch_size=100, train_split=None,
            iterator_train__shuffle=True, verbose=0, **kw)
        pred_probs = cross_val_predict(plain, Xn, y_noisy, cv=cv, method="predict_proba")
        pred_probs = pred_probs / pred_probs.sum(axis=1, keepdims=True)
        fit_seconds = time.time() - t0
        mask = cleanlab.filter.find_label_issues(y_noisy, pred_probs)
        scores = cleanlab.rank.get_label_quality_scores(y_noisy, pred_probs)
        joint = cleanlab.count.estimate_joint(y_noisy, pred_probs)
        seconds = time.time() - t0
        rows = [dict(method="cleanlab", variant="default", seconds=round(seconds, 1),
                     est_rate=round(1 - float(np.trace(joint)), 4),
                     ap=round(average_precision_score(flipped, 1 - scores), 4),
                     **flag_metrics(mask, flipped))]
        t1 = time.time()
        ours = ours_rows(pred_probs, y_noisy, flipped)
        extra = fit_seconds + time.time() - t1
        rows += [dict(r, method="ours_on_cleanlab_probs", seconds=round(extra, 1))
                 for r in ours]
        return rows
    raise ValueError(source)


def _key(r):
    return (r["net"], int(r["n_train"]), int(r["epochs"]), r["noise"], int(r["seed"]),
            r["source"])


def _read(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def summarize(rows):
    """Mean and std per (network, noise, method) of each method's default rule."""
    groups = {}
    for r in rows:
        ours = r["method"] != "cleanlab"
        if r["variant"] != (f"score={DEFAULT_RULE}" if ours else "default"):
            continue
        key = (r["net"], r["noise"], r["method"])
        groups.setdefault(key, []).append(r)
    out = []
    for (net, noise, method), rs in groups.items():
        err = [abs(float(r["est_rate"]) - float(r["true_rate"])) for r in rs]
        stat = {}
        for name, vals in (("precision", [float(r["precision"]) for r in rs]),
                           ("recall", [float(r["recall"]) for r in rs]),
                           ("f1", [float(r["f1"]) for r in rs]),
                           ("ap", [float(r["ap"]) for r in rs]),
                           ("rate_err", err),
                           ("seconds", [float(r["seconds"]) for r in rs])):
            stat[name] = (np.mean(vals), np.std(vals))
        out.append(dict(net=net, noise=noise, method=method, n=len(rs), **stat))
    return out


def _cell(s, name, digits=3):
    m, sd = s[name]
    return f"{m:.{digits}f} ± {sd:.{digits}f}"


def _noise_text(noise):
    kind, rate = NOISES[noise]
    return f"{kind} {rate:.0%}"


def _order(rows):
    nets = list(dict.fromkeys(r["net"] for r in rows))
    noises = [n for n in NOISES if any(r["noise"] == n for r in rows)]
    return nets, noises


def main_table(rows):
    summary = summarize(rows)
    nets, noises = _order(rows)
    methods = ["nnaqc", "base", "nnaqc_cv5", "cleanlab", "ours_on_cleanlab_probs"]
    lines = ["| network | noise | method | seeds | precision | recall | F1 | PR-AUC | "
             "noise-rate error | time (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for net in nets:
        for noise in noises:
            for m in methods:
                s = [x for x in summary if (x["net"], x["noise"], x["method"]) ==
                     (net, noise, m)]
                if not s:
                    continue
                s = s[0]
                lines.append(
                    f"| {net} | {_noise_text(noise)} | {LABELS[m]} | {s['n']} | "
                    f"{_cell(s, 'precision')} | {_cell(s, 'recall')} | {_cell(s, 'f1')} | "
                    f"{_cell(s, 'ap')} | {_cell(s, 'rate_err')} | "
                    f"{s['seconds'][0]:.0f} |")
    return "\n".join(lines)


def rule_table(rows):
    """Average precision and F1 of each scoring rule / filter, per source."""
    nets, noises = _order(rows)
    variants = ["score=self_confidence", "score=normalized_margin", "score=posterior",
                "score=posterior_fitted", "filter=off_diagonal"]
    methods = ["nnaqc", "base", "nnaqc_cv5", "ours_on_cleanlab_probs"]
    lines = ["| network | noise | probabilities from | " + " | ".join(variants) + " |",
             "|---|---|---|" + "---|" * len(variants)]
    for net in nets:
        for noise in noises:
            for m in methods:
                cells, seen = [], False
                for v in variants:
                    rs = [r for r in rows if (r["net"], r["noise"], r["method"], r["variant"])
                          == (net, noise, m, v)]
                    if not rs:
                        cells.append("–")
                        continue
                    seen = True
                    ap = np.mean([float(r["ap"]) for r in rs])
                    f1 = np.mean([float(r["f1"]) for r in rs])
                    # The filter does not change the scores: F1 only.
                    cells.append(f"F1 {f1:.3f}" if v.startswith("filter=")
                                 else f"{ap:.3f} / {f1:.3f}")
                if seen:
                    lines.append(f"| {net} | {_noise_text(noise)} | {LABELS[m]} | "
                                 + " | ".join(cells) + " |")
    return "\n".join(lines)


def rule_means(rows):
    """Each scoring rule's PR-AUC and F1 averaged over every network, noise, seed and
    source of probabilities: the criterion used to choose the default rule."""
    variants = ["score=self_confidence", "score=normalized_margin", "score=posterior"]
    lines = ["| scoring rule | mean PR-AUC | mean F1 | runs |", "|---|---|---|---|"]
    for v in variants:
        rs = [r for r in rows if r["variant"] == v]
        if rs:
            lines.append(f"| {v[len('score='):]} | {np.mean([float(r['ap']) for r in rs]):.4f} | "
                         f"{np.mean([float(r['f1']) for r in rs]):.4f} | {len(rs)} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", default=["mlp"], choices=["mlp", "lenet"])
    parser.add_argument("--noises", nargs="+", default=list(NOISES), choices=list(NOISES))
    parser.add_argument("--sources", nargs="+", default=SOURCES, choices=SOURCES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--note", default="", help="free text added to summary.md")
    parser.add_argument("--summary-only", action="store_true",
                        help="write summary.md from runs.csv without running anything")
    parser.add_argument("--out", default="benchmarks/results/label_issues")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.nets, args.noises, args.seeds, args.epochs = ["mlp"], ["sym40", "pair30"], 1, 3
    argv = list(sys.argv[1:] if argv is None else argv)
    shown = [a for i, a in enumerate(argv) if a != "--summary-only"
             and a != "--note" and (i == 0 or argv[i - 1] != "--note")]
    command = "python benchmarks/bench_label_issues.py " + " ".join(shown)
    if args.summary_only:
        args.note = ("summary.md re-rendered from runs.csv with --summary-only. "
                     + args.note)
    X, y = load_data(args.quick, args.n_train)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "runs.csv")
    done = {_key(r) for r in _read(path)}
    new = not os.path.exists(path)
    plan = [(seed, net, noise, source)
            for seed in range(args.seed_offset, args.seed_offset + args.seeds)
            for net in args.nets for noise in args.noises for source in args.sources]
    start = time.time()
    if args.summary_only:
        plan = []
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        for i, (seed, net, noise, source) in enumerate(plan, 1):
            shared = dict(net=net, n_train=len(y), epochs=args.epochs, noise=noise,
                          seed=seed, source=source)
            if _key(shared) in done:
                continue
            kind, rate = NOISES[noise]
            T = make_transition_matrix(10, rate, kind=kind, random_state=seed)
            y_noisy = corrupt_labels(y, transition_matrix=T, random_state=seed)
            flipped = y_noisy != y
            t0 = time.time()
            rows = run_unit(source, net, X, y_noisy, flipped, seed, args.epochs)
            for r in rows:
                writer.writerow(dict(shared, true_rate=round(flipped.mean(), 4), **r))
            fh.flush()
            first = next(r for r in rows if r["variant"] in ("default", f"score={DEFAULT_RULE}"))
            print(f"[{i}/{len(plan)}] {net} {_noise_text(noise)} seed {seed} {source}: "
                  f"AP {first['ap']:.3f} F1 {first['f1']:.3f} ({time.time() - t0:.0f} s, "
                  f"elapsed {time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    mine = {(net, len(y), args.epochs, noise) for net in args.nets for noise in args.noises}
    rows = [r for r in _read(path)
            if (r["net"], int(r["n_train"]), int(r["epochs"]), r["noise"]) in mine]
    data = "digits (1797 images, --quick)" if args.quick else \
        f"Fashion-MNIST, stratified {len(y)}-image subset of the training set"
    notes = (
        f"{data}; networks {', '.join(args.nets)} (MLP: one hidden layer of 256 units); "
        f"{args.epochs} epochs, batch size 100, Adam lr 1e-3 for every fit. Flipped labels "
        "are the positives. PR-AUC: average precision of 1 - score. Noise-rate error: "
        "|estimated - realised| noise rate. Time: wall seconds of everything the method "
        "needs (training included; for the rule on cleanlab's probabilities, the same "
        "5-fold training plus our rule). Mean ± std over seeds. Machine: "
        f"{platform.machine()} CPU, {args.threads} torch thread(s); load average at the "
        f"end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. {args.note}"
    )
    table, rules = main_table(rows), rule_table(rows)
    with open(os.path.join(args.out, "summary.md"), "w") as fh:
        fh.write(f"# Finding wrong labels: sknnaqc vs cleanlab\n\nCommand: `{command}`\n\n"
                 f"{notes}\n\n## Flagged set, scores and noise estimate (default rules)\n\n"
                 f"{table}\n\n## Scoring rules and filters: PR-AUC / F1 of the flagged set\n\n"
                 "Each cell: average precision of the scores / F1 of the set flagged by "
                 "the per-class rule with that score. filter=off_diagonal: F1 of the set "
                 "whose confident class differs from the given label (the alternative "
                 f"to the per-class rule; it does not use the score).\n\n{rules}\n\n"
                 "Averaged over all the rows above (every noise, seed and source):\n\n"
                 f"{rule_means(rows)}\n")
    print(table)
    print()
    print(rules)


if __name__ == "__main__":
    main()
