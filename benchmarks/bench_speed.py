"""Training and prediction speed of NNAQCClassifier against plain skorch and bare PyTorch.

Per-epoch wall time on the same in-memory data (float32 tensors / arrays,
batch size 100, Adam lr 1e-3) of

* ``NNAQC``: :class:`sknnaqc.NNAQCClassifier` (skorch underneath, sknnaqc's
  in-memory batches);
* ``skorch CE``: the same base network in plain ``skorch.NeuralNetClassifier``
  with ``CrossEntropyLoss`` (default DataLoader path,
  ``iterator_train__shuffle=True``);
* ``bare NNAQC``: a bare PyTorch loop (``randperm`` + tensor slicing) over the
  same noise-adapted module and NNAQC loss: the same arithmetic as ``NNAQC``
  with no framework around it, so ``NNAQC / bare NNAQC`` is sknnaqc's and
  skorch's overhead;
* ``bare CE``: the same bare loop over the base network with plain
  cross-entropy: the cost of a noise-ignorant network.

for two networks: a 784-256-10 MLP on flat inputs and the paper's MNIST LeNet
(:func:`sknnaqc.networks.mnist_lenet`) on 1x28x28 images. The data are random
and shaped like Fashion-MNIST (speed does not depend on the values). The
methods run interleaved (a, b, c, d, a, b, c, d, ...), each round a fresh fit
of ``--epochs`` epochs whose first epoch is discarded as warm-up; the table
reports the median per-epoch time and its ratio to both bare loops.
``NNAQC``/``skorch CE`` epochs are timed by skorch's ``EpochTimer`` (``dur``:
the whole batch loop with every callback and history record), bare epochs by
``time.perf_counter`` around the same loop. ``fit overhead`` is the fit's wall
time minus its epochs (validation, building, initialisation).

Prediction: throughput (samples/s) of ``NNAQCClassifier.predict_proba`` on
the training data against a bare ``torch.no_grad()`` loop over the same
batches of the trained base network (softmax, copied to one NumPy array),
interleaved, median of ``--predict-repeats``.

Command used for the committed results::

    python benchmarks/bench_speed.py --out benchmarks/results/speed.md

Quick smoke run (used by the test suite)::

    python benchmarks/bench_speed.py --quick --out /tmp/speed.md

Sample output::

    | network | method | median epoch (s) | vs bare NNAQC | vs bare CE | fit overhead (s) | epochs timed |
    |---|---|---|---|---|---|---|
    | MLP 784-256-10 | NNAQC | 0.323 | 1.06x | 1.29x | 0.010 | 5 |
    | MLP 784-256-10 | skorch CE | 0.334 | 1.09x | 1.33x | 0.002 | 5 |
    | MLP 784-256-10 | bare NNAQC | 0.305 | 1.00x | 1.22x | 0.001 | 5 |
    | MLP 784-256-10 | bare CE | 0.251 | 0.82x | 1.00x | 0.001 | 5 |
    ...
    | network | NNAQC predict_proba (samples/s) | bare no_grad loop (samples/s) | bare / NNAQC |
    |---|---|---|---|
    | MLP 784-256-10 | 212,807 | 232,015 | 1.09x |
    | LeNet (paper, MNIST) | 7,206 | 7,326 | 1.02x |

Threads: the default is 1 torch thread. On a 2-core machine shared with
another job, 2 threads per process oversubscribe the cores and a step can
take ~100x longer; such timings measure the contention, not the code.
"""

import argparse
import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier

from sknnaqc import NNAQCClassifier
from sknnaqc.losses import NoiseAwareLoss
from sknnaqc.networks import MLP, mnist_lenet
from sknnaqc.noise_models import NoiseAdaptedModule, NonlinearNoiseModel

BATCH = 100
LR = 1e-3


def mlp_784_256(n_classes=10):
    """The MLP of this benchmark (a factory, so every fit builds a fresh one)."""
    return MLP(n_features=784, n_classes=n_classes, hidden=(256,))


NETWORKS = {
    "mlp": ("MLP 784-256-10", mlp_784_256, (784,)),
    "lenet": ("LeNet (paper, MNIST)", mnist_lenet, (1, 28, 28)),
}


def _time_nnaqc(factory, X, y, epochs, seed):
    clf = NNAQCClassifier(module=factory, max_epochs=epochs, batch_size=BATCH, lr=LR,
                          random_state=seed)
    t0 = time.perf_counter()
    clf.fit(X, y)
    wall = time.perf_counter() - t0
    durs = list(clf.history_[:, "dur"])
    return durs, wall - sum(durs), clf


def _time_skorch(factory, X, y, epochs, seed):
    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        module=factory, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam,
        lr=LR, max_epochs=epochs, batch_size=BATCH, train_split=None,
        iterator_train__shuffle=True, device="cpu", verbose=0,
    )
    t0 = time.perf_counter()
    net.fit(X, y)
    wall = time.perf_counter() - t0
    durs = list(net.history[:, "dur"])
    return durs, wall - sum(durs), net


def _bare_loop(model, loss_fn, X, y, epochs):
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    durs = []
    n = len(X)
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n)
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
        durs.append(time.perf_counter() - t0)
    return durs


def _time_bare_nnaqc(factory, X, y, epochs, seed):
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model = NoiseAdaptedModule(factory(n_classes=10), NonlinearNoiseModel(10, init_scale=2.0))
    durs = _bare_loop(model, NoiseAwareLoss(alpha=0.9, beta=0.9), X, y, epochs)
    return durs, time.perf_counter() - t0 - sum(durs), model


def _time_bare_ce(factory, X, y, epochs, seed):
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model = factory(n_classes=10)
    durs = _bare_loop(model, F.cross_entropy, X, y, epochs)
    return durs, time.perf_counter() - t0 - sum(durs), model


METHODS = [
    ("NNAQC", _time_nnaqc, "numpy"),
    ("skorch CE", _time_skorch, "numpy"),
    ("bare NNAQC", _time_bare_nnaqc, "torch"),
    ("bare CE", _time_bare_ce, "torch"),
]


def _bare_predict(model, X):
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(X), BATCH):
            out.append(torch.softmax(model(X[start:start + BATCH]), dim=1).numpy())
    return np.concatenate(out)


def bench_network(key, args, log):
    name, factory, shape = NETWORKS[key]
    gen = np.random.default_rng(0)
    X_np = gen.random((args.n_samples, *shape), dtype=np.float32)
    y_np = gen.integers(0, 10, size=args.n_samples).astype(np.int64)
    data = {"numpy": (X_np, y_np), "torch": (torch.from_numpy(X_np), torch.from_numpy(y_np))}
    epochs = {m: [] for m, _, _ in METHODS}
    overhead = {m: [] for m, _, _ in METHODS}
    last = {}
    for r in range(args.rounds):
        for method, fn, kind in METHODS:
            durs, extra, fitted = fn(factory, *data[kind], args.epochs, seed=r)
            epochs[method] += durs[1:]
            overhead[method].append(extra)
            last[method] = fitted
        print(f"{name}: round {r + 1}/{args.rounds} done", file=log, flush=True)
    med = {m: statistics.median(v) for m, v in epochs.items()}
    rows = []
    for method, _, _ in METHODS:
        rows.append(dict(network=name, method=method, epoch=med[method],
                         vs_bare=med[method] / med["bare NNAQC"],
                         vs_ce=med[method] / med["bare CE"],
                         overhead=statistics.median(overhead[method]),
                         n=len(epochs[method])))

    # Prediction throughput: NNAQC's predict_proba vs a bare no_grad loop.
    clf = last["NNAQC"]
    base = clf.net_.module_.base
    X_t = data["torch"][0]
    p_nnaqc, p_bare = [], []
    for _ in range(args.predict_repeats):
        t0 = time.perf_counter()
        proba = clf.predict_proba(X_np)
        p_nnaqc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare = _bare_predict(base, X_t)
        p_bare.append(time.perf_counter() - t0)
    assert np.allclose(proba, bare, atol=1e-5)
    pred = dict(network=name, nnaqc=len(X_np) / statistics.median(p_nnaqc),
                bare=len(X_np) / statistics.median(p_bare))
    pred["ratio"] = pred["bare"] / pred["nnaqc"]
    return rows, pred


def _load():
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", choices=sorted(NETWORKS),
                        default=["mlp", "lenet"])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=2,
                        help="epochs per fit; the first of each fit is discarded")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds (fresh fits of every method)")
    parser.add_argument("--predict-repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--out", default="benchmarks/results/speed.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.rounds, args.predict_repeats = 500, 2, 1, 1
    torch.set_num_threads(args.threads)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = "python benchmarks/bench_speed.py " + " ".join(shlex.quote(a) for a in argv)

    start = time.time()
    rows, preds = [], []
    for key in args.networks:
        r, p = bench_network(key, args, sys.stderr)
        rows += r
        preds.append(p)

    lines = ["| network | method | median epoch (s) | vs bare NNAQC | vs bare CE | "
             "fit overhead (s) | epochs timed |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['network']} | {r['method']} | {r['epoch']:.3f} | "
                     f"{r['vs_bare']:.2f}x | {r['vs_ce']:.2f}x | {r['overhead']:.3f} | "
                     f"{r['n']} |")
    lines += ["", "| network | NNAQC predict_proba (samples/s) | bare no_grad loop "
              "(samples/s) | bare / NNAQC |", "|---|---|---|---|"]
    for p in preds:
        lines.append(f"| {p['network']} | {p['nnaqc']:,.0f} | {p['bare']:,.0f} | "
                     f"{p['ratio']:.2f}x |")
    table = "\n".join(lines)
    print(table)
    with open(args.out, "w") as fh:
        fh.write("# Speed: NNAQCClassifier vs plain skorch vs bare PyTorch\n\n")
        fh.write(f"Command: `{command}`\n\n")
        fh.write(
            f"{args.n_samples} random samples shaped like Fashion-MNIST, batch size "
            f"{BATCH}, Adam lr {LR}, {args.rounds} interleaved rounds of fresh "
            f"{args.epochs}-epoch fits, first epoch of each fit discarded, medians. "
            f"Machine: {platform.machine()} CPU ({platform.processor() or 'unknown'}), "
            f"{args.threads} torch threads, torch {torch.__version__}. Load average "
            f"(1, 5, 15 min) at the end of the run: {_load()}; other work on the "
            "machine inflates absolute times, so read the ratios of the interleaved runs. "
            f"Wall time {time.time() - start:.0f} s.\n\n"
        )
        fh.write(table + "\n")


if __name__ == "__main__":
    main()
