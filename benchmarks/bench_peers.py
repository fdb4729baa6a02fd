"""NNAQC against what a practitioner would use instead, on Fashion-MNIST with an MLP.

Every method trains the same network (a two-hidden-layer MLP, 784-H1-H2-10)
with Adam, batch size 100 and the same number of epochs on all 60,000
Fashion-MNIST training images whose labels were corrupted, and is scored on
the clean 10,000-image test set. Methods (see ``METHODS``):

- ``skorch``: plain skorch ``NeuralNetClassifier`` with cross-entropy; no
  sknnaqc code is in its training loop (only the MLP class is shared);
- ``cleanlab``: cleanlab's ``CleanLearning`` wrapping that same skorch net
  (cross-validated predicted probabilities find label issues, the net is
  refitted on the rest); skipped with a message if cleanlab is not installed
  (``pip install "sknnaqc[bench]"``);
- ``base_es``: ``BaseModelClassifier`` with skorch's ``EarlyStopping``
  (patience 5, best epoch's weights restored) on a stratified 20 % validation
  split of the **noisy** labels (``ValidSplit``): no clean label anywhere;
- ``fcorrection`` and ``nnaqc``: ``ForwardCorrectionClassifier`` and
  ``NNAQCClassifier`` with the library's defaults;
- ``gce``, ``sce``, ``coteaching``: ``GeneralizedCrossEntropyClassifier``,
  ``SymmetricCrossEntropyClassifier`` and ``CoTeachingClassifier`` with their
  defaults, when this sknnaqc has them (skipped with a message otherwise).

Noise: symmetric 20/50/80 %, pair-flip 45 %, the paper's eq. (1) at 50 %
(``--noise kind:rate ...``). Each finished fit appends one row to
``<out>/runs.csv`` (clean-test error, fit time); runs already there are
skipped, so a stopped run resumes. Runs are ordered seed-major (every cell of
seed 0 first), 50 % noise first and cleanlab (which trains the net
``cv_n_folds + 1`` times) last within a seed, so a partial run covers the
most informative cells. ``summary.md`` gives the mean ± std of the clean-test error and
each method's fit time with its ratio to plain skorch.

``--curves`` instead trains ``--curve-methods`` once (seed 0) at one noise
setting and records the clean-test error after every epoch with a skorch
callback (``CleanTestError`` below, part of this script, not the library):
``<out>/curves_<noise>.csv`` and ``.png``.

Why 20 epochs: a 40-epoch learning curve at 50 % symmetric noise (seed 0,
``--curves --epochs 40``) had plain skorch at its lowest clean-test error near
epoch 12 and climbing from there (memorisation of the wrong labels), about 5
points higher by epoch 20 and about 14 by epoch 40; 20 is also the paper's
training length. Early stopping on the noisy validation split stops near
epoch 10 whatever the budget.

Command used for the committed results (see ``benchmarks/results/peers/``)::

    python benchmarks/bench_peers.py --threads 1
    python benchmarks/bench_peers.py --curves --threads 1

Quick smoke run (digits, a few seconds; the test suite runs it)::

    python benchmarks/bench_peers.py --quick --out /tmp/peers
"""

import argparse
import csv
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit

# The sknnaqc of the repository this script is in, not another installed copy (an
# editable install may point at another checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sknnaqc
from sknnaqc.experiment import load_experiment_data
from sknnaqc.networks import MLP
from sknnaqc.noise import corrupt_labels, make_transition_matrix

# Run order (the most informative cells first, so that a partial run says the
# most); the summary's columns and rows are ordered by NOISE_ORDER and METHODS.
DEFAULT_NOISE = ["symmetric:0.5", "random:0.5", "pairflip:0.45", "symmetric:0.2",
                 "symmetric:0.8"]
DEFAULT_METHODS = ["skorch", "nnaqc", "base_es", "fcorrection", "gce", "sce", "coteaching",
                   "cleanlab"]
NOISE_ORDER = ["symmetric", "pairflip", "random"]
FIELDS = ["dataset", "n_train", "noise_kind", "noise_rate", "actual_noise", "method", "seed",
          "epochs", "epochs_run", "hidden", "lr", "batch_size", "test_error", "fit_seconds",
          "threads", "sknnaqc_commit"]
KEY = ["dataset", "n_train", "noise_kind", "noise_rate", "method", "seed", "epochs", "hidden",
       "lr", "batch_size"]


# --------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------

@dataclass
class Config:
    """What every method of one run shares."""

    hidden: tuple
    epochs: int
    lr: float
    batch_size: int
    seed: int
    n_features: int
    n_classes: int
    cleanlab_folds: int = 5
    callbacks: tuple = ()  # extra skorch callbacks (learning curves)


@dataclass
class Method:
    label: str
    build: Callable  # Config -> estimator with fit / predict
    requires: str = ""  # importable name it needs: "cleanlab" or "sknnaqc.<Class>"


def skorch_net(cfg):
    """Plain skorch with cross-entropy: what a user writes without any noisy-label tool."""
    return NeuralNetClassifier(
        MLP, module__n_features=cfg.n_features, module__n_classes=cfg.n_classes,
        module__hidden=cfg.hidden, criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam, lr=cfg.lr, batch_size=cfg.batch_size,
        max_epochs=cfg.epochs, train_split=None, iterator_train__shuffle=True,
        callbacks=list(cfg.callbacks) or None, verbose=0,
    )


def _cleanlab(cfg):
    from cleanlab.classification import CleanLearning

    return CleanLearning(clf=skorch_net(cfg), seed=cfg.seed, cv_n_folds=cfg.cleanlab_folds)


def _sknnaqc_class(names):
    """The first of ``names`` ("A|B") that the imported sknnaqc exports, else None."""
    return next((getattr(sknnaqc, n) for n in names.split("|") if hasattr(sknnaqc, n)), None)


def _sknnaqc(names):
    """An sknnaqc estimator with the library's defaults for everything but the training set-up."""
    def build(cfg):
        return _sknnaqc_class(names)(
            MLP, module__hidden=cfg.hidden, lr=cfg.lr, batch_size=cfg.batch_size,
            max_epochs=cfg.epochs, random_state=cfg.seed, callbacks=list(cfg.callbacks) or None)
    return build


def early_stopped(cls, params):
    """``cls(**params)`` trained on 80 % of the set, stopped on the other 20 %'s loss.

    The validation labels are as noisy as the training labels (no clean label
    is used); the weights of the best validation epoch are kept. For NNAQC the
    monitored loss is its own training objective.
    """
    return cls(**{
        **params,
        "train_split": ValidSplit(0.2, stratified=True, random_state=params["random_state"]),
        # Watchers first: EarlyStopping ends training inside on_epoch_end.
        "callbacks": [*(params.get("callbacks") or []),
                      EarlyStopping(monitor="valid_loss", patience=5, load_best=True)]})


def _base_es(cfg):
    return early_stopped(sknnaqc.BaseModelClassifier, dict(
        module=MLP, module__hidden=cfg.hidden, lr=cfg.lr, batch_size=cfg.batch_size,
        max_epochs=cfg.epochs, random_state=cfg.seed, callbacks=list(cfg.callbacks)))


GCE = "GeneralizedCrossEntropyClassifier|GCEClassifier"
SCE = "SymmetricCrossEntropyClassifier|SCEClassifier"
METHODS = {
    "skorch": Method("plain skorch (cross-entropy)", skorch_net),
    "cleanlab": Method("cleanlab CleanLearning (skorch net)", _cleanlab, "cleanlab"),
    "base_es": Method("Base + early stopping (noisy val.)", _base_es),
    "fcorrection": Method("F-correction", _sknnaqc("ForwardCorrectionClassifier"),
                          "sknnaqc.ForwardCorrectionClassifier"),
    "gce": Method("GCE", _sknnaqc(GCE), "sknnaqc." + GCE),
    "sce": Method("SCE", _sknnaqc(SCE), "sknnaqc." + SCE),
    "coteaching": Method("Co-teaching", _sknnaqc("CoTeachingClassifier"),
                         "sknnaqc.CoTeachingClassifier"),
    "nnaqc": Method("NNAQC", _sknnaqc("NNAQCClassifier"), "sknnaqc.NNAQCClassifier"),
}


def missing_reason(name):
    """Why method ``name`` cannot run here (None: it can)."""
    need = METHODS[name].requires
    if need == "cleanlab":
        try:
            import cleanlab  # noqa: F401
        except ImportError:
            return ("cleanlab is not installed (pip install \"sknnaqc[bench]\" or "
                    "pip install cleanlab); the cleanlab method is skipped")
    elif need.startswith("sknnaqc."):
        names = need.split(".", 1)[1]
        if _sknnaqc_class(names) is None:
            return (f"this sknnaqc has no {names.replace('|', ' or ')}; the {name} method "
                    "is skipped")
    return None


# --------------------------------------------------------------------------
# Learning curves
# --------------------------------------------------------------------------

class CleanTestError(Callback):
    """Record the clean-test error (%) after every epoch as ``clean_test_error``.

    Prediction runs with torch's random state saved and restored, so the
    training run itself is not changed by being watched.
    """

    def __init__(self, X_test, y_test):
        self.X_test = X_test
        self.y_test = y_test

    def on_epoch_end(self, net, **kwargs):
        with torch.random.fork_rng(devices=[]):
            proba = net.predict_proba(self.X_test)
        error = 100.0 * float(np.mean(proba.argmax(axis=1) != self.y_test))
        net.history.record("clean_test_error", error)


# --------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------

def parse_noise(spec):
    kind, _, rate = spec.partition(":")
    if kind not in ("symmetric", "pairflip", "random") or not rate:
        raise argparse.ArgumentTypeError(
            f"noise must be kind:rate with kind symmetric, pairflip or random; got {spec!r}")
    rate = float(rate)
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"noise rate must be in [0, 1]; got {spec!r}")
    return kind, rate


def noise_name(kind, rate):
    return f"{kind} {rate:.0%}"


def load_data(quick, data_dir):
    dataset = "digits" if quick else "fashion-mnist"
    X_tr, y_tr, X_te, y_te, _ = load_experiment_data(dataset, data_dir)
    flat = [np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float32) for X in (X_tr, X_te)]
    return dataset, flat[0], y_tr.astype(np.int64), flat[1], y_te.astype(np.int64)


def noisy_labels(y, kind, rate, seed, n_classes):
    T = make_transition_matrix(n_classes, rate, kind=kind, random_state=seed)
    return corrupt_labels(y, transition_matrix=T, random_state=seed)


def fit_one(name, cfg, X, y_noisy):
    """Build and fit one method; returns (estimator, fit seconds)."""
    clf = METHODS[name].build(cfg)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)  # plain skorch / cleanlab: seeds init and shuffling
        clf.fit(X, y_noisy)
    return clf, time.perf_counter() - t0


def epochs_run(clf):
    history = getattr(clf, "history_", None) or getattr(clf, "history", None)
    return len(history) if history is not None else ""


_COMMIT = []


def commit_id():
    """The repository's commit when the script started (+dirty: sknnaqc/ had edits)."""
    if _COMMIT:
        return _COMMIT[0]
    _COMMIT.append(_git_commit())
    return _COMMIT[0]


def _git_commit():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sknnaqc"],
                               cwd=os.path.dirname(here), capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def read_runs(path):
    """Finished runs in ``path``; a torn last line (process killed mid-write) is ignored."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                float(row["test_error"]), float(row["fit_seconds"])
            except (TypeError, ValueError, KeyError):
                continue
            rows.append(row)
    return rows


def run_key(row):
    return tuple(str(row[k]) for k in KEY)


def append_row(path, row):
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as fh:
        if not new and not _ends_with_newline(path):
            fh.write("\n")  # finish a torn line so the next row is whole
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)
        fh.flush()
        os.fsync(fh.fileno())


def _ends_with_newline(path):
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def run_table(args, data, methods, command, fit=True):
    dataset, X, y, X_te, y_te = data
    n_classes = int(y.max()) + 1
    runs_csv = os.path.join(args.out, "runs.csv")
    commit = commit_id()
    plan = [(seed, kind, rate, m) for seed in range(args.seed_offset,
                                                     args.seed_offset + args.seeds)
            for kind, rate in args.noise for m in methods]
    start = time.time()
    for i, (seed, kind, rate, name) in enumerate(plan, 1):
        row = dict(dataset=dataset, n_train=len(y), noise_kind=kind, noise_rate=rate,
                   method=name, seed=seed, epochs=args.epochs,
                   hidden="-".join(map(str, args.hidden)), lr=args.lr,
                   batch_size=args.batch_size)
        if not fit or run_key(row) in {run_key(r) for r in read_runs(runs_csv)}:
            continue
        y_noisy = noisy_labels(y, kind, rate, seed, n_classes)
        cfg = Config(tuple(args.hidden), args.epochs, args.lr, args.batch_size, seed,
                     X.shape[1], n_classes, args.cleanlab_folds)
        clf, seconds = fit_one(name, cfg, X, y_noisy)
        error = 100.0 * float(np.mean(clf.predict(X_te) != y_te))
        row.update(actual_noise=round(float(np.mean(y_noisy != y)), 4), epochs_run=epochs_run(clf),
                   test_error=round(error, 3), fit_seconds=round(seconds, 2),
                   threads=torch.get_num_threads(), sknnaqc_commit=commit)
        append_row(runs_csv, row)
        print(f"[{i}/{len(plan)}] {noise_name(kind, rate):<14} {METHODS[name].label:<36} "
              f"seed={seed}: error {error:6.2f}%  fit {seconds:7.1f} s  "
              f"(elapsed {time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    mine = {run_key(dict(dataset=dataset, n_train=len(y), noise_kind=k, noise_rate=r, method=m,
                         seed=s, epochs=args.epochs, hidden="-".join(map(str, args.hidden)),
                         lr=args.lr, batch_size=args.batch_size)) for s, k, r, m in plan}
    rows, seen = [], set()
    for r in read_runs(runs_csv):
        if run_key(r) in mine and run_key(r) not in seen:
            seen.add(run_key(r))
            rows.append(r)
    return rows


def summary_tables(rows, methods, noise):
    """Markdown: clean-test error per method and noise; fit time and ratio to skorch."""
    cells, times = {}, {}
    for r in rows:
        setting = (r["noise_kind"], float(r["noise_rate"]))
        cells.setdefault((r["method"], setting), []).append(float(r["test_error"]))
        times.setdefault(r["method"], {})[(setting, r["seed"])] = float(r["fit_seconds"])
    lines = ["Clean-test error (%), mean ± std over seeds (number of seeds in brackets); "
             "bold: lowest mean in the column.\n",
             "| method | " + " | ".join(noise_name(k, p) for k, p in noise) + " |",
             "|---|" + "---|" * len(noise)]
    best = {}
    for setting in noise:
        means = [np.mean(cells[(m, setting)]) for m in methods if (m, setting) in cells]
        best[setting] = min(means) if means else None
    for m in methods:
        out = []
        for setting in noise:
            e = cells.get((m, setting))
            if not e:
                out.append("–")
                continue
            text = f"{np.mean(e):.2f} ± {np.std(e):.2f} ({len(e)})"
            out.append(f"**{text}**" if np.mean(e) == best[setting] else text)
        lines.append(f"| {METHODS[m].label} | " + " | ".join(out) + " |")
    lines += ["", "Fit time per run, mean over all finished runs (seconds), and its ratio to "
              "plain skorch over the runs (noise setting, seed) both finished.\n",
              "| method | fit time (s) | runs | × plain skorch |", "|---|---|---|---|"]
    ref = times.get("skorch", {})
    for m in methods:
        t = times.get(m)
        if not t:
            lines.append(f"| {METHODS[m].label} | – | 0 | – |")
            continue
        both = [k for k in t if k in ref]
        ratio = (f"{np.mean([t[k] for k in both]) / np.mean([ref[k] for k in both]):.2f}"
                 if both else "–")
        lines.append(f"| {METHODS[m].label} | {np.mean(list(t.values())):.1f} | {len(t)} | "
                     f"{ratio} |")
    return "\n".join(lines) + "\n"


def run_curves(args, data, methods, command):
    dataset, X, y, X_te, y_te = data
    n_classes = int(y.max()) + 1
    kind, rate = args.noise[0]
    seed = args.seed_offset
    y_noisy = noisy_labels(y, kind, rate, seed, n_classes)
    tag = f"{kind}{round(100 * rate)}"
    curves = {}
    for name in methods:
        cfg = Config(tuple(args.hidden), args.epochs, args.lr, args.batch_size, seed,
                     X.shape[1], n_classes, args.cleanlab_folds,
                     callbacks=(CleanTestError(X_te, y_te),))
        clf, seconds = fit_one(name, cfg, X, y_noisy)
        history = clf.history_ if hasattr(clf, "history_") else clf.history
        curves[name] = dict(
            test=history[:, "clean_test_error"],
            train_loss=history[:, "train_loss"],
            valid_loss=[h.get("valid_loss", "") for h in history],
            final=100.0 * float(np.mean(clf.predict(X_te) != y_te)), seconds=seconds)
        print(f"{METHODS[name].label}: {len(history)} epochs, final clean-test error "
              f"{curves[name]['final']:.2f}% ({seconds:.0f} s)", file=sys.stderr, flush=True)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"curves_{tag}")
    with open(base + ".csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["method", "epoch", "clean_test_error", "train_loss", "valid_loss"])
        for name, c in curves.items():
            for e, (err, tl, vl) in enumerate(zip(c["test"], c["train_loss"], c["valid_loss"]), 1):
                writer.writerow([name, e, round(err, 3), round(tl, 5),
                                 "" if vl == "" else round(vl, 5)])
    lines = [f"# Learning curves: {dataset}, {noise_name(kind, rate)} noise, seed {seed}\n",
             f"Command: `{command}`\n", settings_text(args, dataset, len(y)) + "\n",
             "Clean-test error (%) after every epoch in `" + os.path.basename(base) +
             ".csv`; plot in `" + os.path.basename(base) + ".png`.\n",
             "| method | epochs run | best epoch (error) | last epoch error | final model "
             "error | fit (s) |", "|---|---|---|---|---|---|"]
    for name, c in curves.items():
        best = int(np.argmin(c["test"]))
        lines.append(f"| {METHODS[name].label} | {len(c['test'])} | {best + 1} "
                     f"({c['test'][best]:.2f}) | {c['test'][-1]:.2f} | {c['final']:.2f} | "
                     f"{c['seconds']:.0f} |")
    text = "\n".join(lines) + "\n"
    with open(base + ".md", "w") as fh:
        fh.write(text)
    _plot_curves(curves, base + ".png", f"{dataset}, {noise_name(kind, rate)} noise, MLP "
                 f"{'-'.join(map(str, args.hidden))}, Adam lr {args.lr:g}, seed {seed}")
    print(text)


def _plot_curves(curves, path, title):
    plot_error_curves({METHODS[name].label: c["test"] for name, c in curves.items()},
                      path, title)


def plot_error_curves(series, path, title):
    """One line per ``label -> clean-test error per epoch``; PNG at ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; no plot written.", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, errors in series.items():
        ax.plot(range(1, len(errors) + 1), errors, marker=".", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("clean-test error (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def settings_text(args, dataset, n_train):
    return (f"Data: {dataset}, {n_train} training samples with corrupted labels, clean test "
            f"set. Network: MLP {'-'.join(map(str, args.hidden))} (ReLU), Adam lr {args.lr:g}, "
            f"batch size {args.batch_size}, {args.epochs} epochs for every method "
            f"(early stopping may stop sooner; cleanlab: {args.cleanlab_folds}-fold "
            f"cross-validation, then a refit). Machine: {platform.machine()} CPU, "
            f"{os.cpu_count()} cores, {args.threads} torch thread(s), one process; "
            f"load average when written: {os.getloadavg()[0]:.1f}. Versions: torch "
            f"{torch.__version__}, sknnaqc commit {commit_id()} "
            f"({os.path.dirname(sknnaqc.__file__)}).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--noise", type=parse_noise, nargs="+", default=None,
                        metavar="KIND:RATE", help=f"default: {' '.join(DEFAULT_NOISE)}")
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS,
                        help=f"any of {list(METHODS)}")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20,
                        help="20 (the paper's length): on the 50 %% symmetric learning curve "
                             "plain cross-entropy is best near epoch 12 and clearly worse by 20")
    parser.add_argument("--hidden", type=int, nargs=2, default=[512, 256])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--cleanlab-folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--curves", action="store_true",
                        help="learning curves at the first --noise setting (default symmetric "
                             "50 %%) instead of the table")
    parser.add_argument("--curve-methods", nargs="+", default=["skorch", "base_es", "nnaqc"])
    parser.add_argument("--summary-only", action="store_true",
                        help="write summary.md from the runs already in runs.csv; fit nothing")
    parser.add_argument("--quick", action="store_true", help="digits, tiny settings (smoke test)")
    parser.add_argument("--out", default="benchmarks/results/peers")
    args = parser.parse_args(argv)
    unknown = [m for m in args.methods + args.curve_methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown --methods {unknown}; choose from {list(METHODS)}")
    if args.seeds < 1 or args.epochs < 1 or args.threads < 1 or args.cleanlab_folds < 2:
        parser.error("--seeds, --epochs and --threads must be >= 1, --cleanlab-folds >= 2")
    if args.noise is None:
        args.noise = ([parse_noise("symmetric:0.5")] if args.curves
                      else [parse_noise(s) for s in DEFAULT_NOISE])
    if args.quick:
        args.noise, args.seeds, args.epochs = args.noise[:2], 1, 2
        args.hidden, args.cleanlab_folds = [32, 32], 2
    torch.set_num_threads(args.threads)
    _COMMIT.clear()
    commit_id()
    argv = sys.argv[1:] if argv is None else argv
    command = "python benchmarks/bench_peers.py " + " ".join(argv)
    methods = []
    for name in (args.curve_methods if args.curves else args.methods):
        reason = missing_reason(name)
        if reason:
            print(f"bench_peers: {reason}.", file=sys.stderr)
        else:
            methods.append(name)
    data = load_data(args.quick, args.data_dir)
    os.makedirs(args.out, exist_ok=True)
    if args.curves:
        run_curves(args, data, methods, command)
        return
    start = time.time()
    rows = run_table(args, data, methods, command, fit=not args.summary_only)
    skipped = [m for m in args.methods if m not in methods]
    notes = settings_text(args, data[0], len(data[2])) + (
        " Written from runs.csv by --summary-only (no fit in this invocation)"
        if args.summary_only else f" Last invocation took {time.time() - start:.0f} s") + (
        "; every run's fit time, thread count and sknnaqc commit are in runs.csv.")
    if skipped:
        notes += f" Not run (not available here): {', '.join(skipped)}."
    n_planned = args.seeds * len(args.noise) * len(methods)
    if len(rows) < n_planned:
        notes += (f" **Partial: {len(rows)} of {n_planned} runs finished** (see the number "
                  "of seeds in each cell).")
    table = summary_tables(rows, [m for m in METHODS if m in methods],
                           sorted(args.noise, key=lambda s: (NOISE_ORDER.index(s[0]), s[1])))
    with open(os.path.join(args.out, "summary.md"), "w") as fh:
        fh.write(f"# Noisy-label methods against their peers: {data[0]}\n\n"
                 f"Command: `{command}`\n\n{notes}\n\n{table}")
    print(table)


if __name__ == "__main__":
    main()
