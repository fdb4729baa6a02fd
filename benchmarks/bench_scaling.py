"""Scaling out on CPU: Dask grid search and Accelerate data parallelism.

(a) ``GridSearchCV`` over ``alpha`` x ``beta`` (12 settings, 3-fold) of
    NNAQCClassifier on scikit-learn's digits with 30 % eq. (1) label noise,
    run sequentially (``n_jobs=1``) and on a Dask ``LocalCluster`` of
    2 worker processes x 1 thread (``joblib.parallel_backend("dask")``).
(b) AcceleratedNNAQCClassifier trained by ``accelerate launch`` on 2 CPU
    processes versus 1 process: time per epoch, fit time and clean-test
    accuracy.

Run (the committed results were made with exactly this)::

    python benchmarks/bench_scaling.py --out benchmarks/results/scaling.md

Quick smoke run::

    python benchmarks/bench_scaling.py --quick --out /tmp/scaling.md

Sample output (the full run on the shared 2-core machine, cells shortened;
see ``benchmarks/results/scaling.md`` for all of it and the caveats)::

    | part | setting | wall time (s) | speed-up | result |
    |---|---|---|---|---|
    | grid search | n_jobs=1 | 9.0 | 1.00 | best mean CV accuracy (noisy labels) 0.625 |
    | grid search | Dask, 2 workers x 1 thread | 8.4 | 1.08 | ... |
    | Accelerate | 1 process x 1 thread | 3.6 | 1.00 | 101.0 ms/epoch (13 steps of 100 ...|
    | Accelerate | 2 processes x 1 thread | 5.0 | 0.71 | 135.9 ms/epoch (7 steps of 100 ...|
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from sknnaqc import NNAQCClassifier
from sknnaqc.noise import corrupt_labels


def load_data(seed, noise_rate):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y
    )
    y_noisy = corrupt_labels(y_tr, noise_rate=noise_rate, kind="random", random_state=seed)
    return X_tr, X_te, y_noisy, y_te


# -- (a) grid search -------------------------------------------------------------
def grid_search(args, X, y):
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_backend

    from sknnaqc.distributed import set_torch_threads

    estimator = NNAQCClassifier(max_epochs=args.grid_epochs, random_state=args.seed)
    grid = {"alpha": args.alphas, "beta": args.betas}
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    rows = []

    start = time.perf_counter()
    seq = GridSearchCV(estimator, grid, cv=cv, n_jobs=1, refit=False).fit(X, y)
    t_seq = time.perf_counter() - start
    rows.append(("grid search", "n_jobs=1", t_seq, 1.0,
                 f"best mean CV accuracy (noisy labels) {seq.best_score_:.3f}"))

    start = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(set_torch_threads, 1)
        t_startup = time.perf_counter() - start
        start = time.perf_counter()
        with parallel_backend("dask"):
            par = GridSearchCV(estimator, grid, cv=cv, refit=False).fit(X, y)
        t_par = time.perf_counter() - start
    diff = np.abs(par.cv_results_["mean_test_score"] - seq.cv_results_["mean_test_score"]).max()
    rows.append(("grid search", f"Dask, {args.workers} workers x 1 thread", t_par, t_seq / t_par,
                 f"best mean CV accuracy (noisy labels) {par.best_score_:.3f}; largest "
                 f"difference of mean_test_score from n_jobs=1: {diff:.1e}; cluster "
                 f"start-up {t_startup:.1f} s not included"))
    n_settings = len(args.alphas) * len(args.betas)
    return rows, n_settings


# -- (b) Accelerate ----------------------------------------------------------------
def accelerate_worker(args):
    """Runs inside each process started by the benchmark (1 or N of them)."""
    from accelerate.utils import gather_object

    from sknnaqc.distributed import AcceleratedNNAQCClassifier

    torch.set_num_threads(1)
    X_tr, X_te, y_tr, y_te = load_data(args.seed, args.noise_rate)
    clf = AcceleratedNNAQCClassifier(
        max_epochs=args.accel_epochs, batch_size=args.batch_size,
        module__hidden=tuple(args.hidden), random_state=args.seed,
    )
    start = time.perf_counter()
    clf.fit(X_tr, y_tr)
    fit_time = time.perf_counter() - start
    accuracy = clf.score(X_te, y_te)  # collective: every process predicts
    state = clf.net_.accelerator.state
    epoch_times = [h["dur"] for h in clf.history_]
    weights = gather_object([clf.net_.module_.noise_model.weight.detach().cpu().numpy()])
    if state.is_main_process:
        w_spread = max(float(np.abs(w - weights[0]).max()) for w in weights)
        result = dict(
            num_processes=state.num_processes, fit_time=fit_time, accuracy=accuracy,
            # the first epoch includes warm-up; report the median of the rest
            epoch_time=float(np.median(epoch_times[1:] or epoch_times)),
            steps_per_epoch=len(clf.history_[-1, "batches"]), w_spread=w_spread,
        )
        with open(args.worker_out, "w") as fh:
            json.dump(result, fh)
    # Leave together and close the process group, so that no process exits
    # while another still uses it.
    clf.net_.accelerator.wait_for_everyone()
    clf.net_.accelerator.end_training()
    # Skip interpreter teardown: gloo's threads occasionally abort there
    # ("terminate called without an active exception") after all work is done.
    sys.stdout.flush()
    os._exit(0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_runs(args):
    worker_args = [
        "--accelerate-worker", "--seed", str(args.seed), "--noise-rate", str(args.noise_rate),
        "--accel-epochs", str(args.accel_epochs), "--batch-size", str(args.batch_size),
        "--hidden", *map(str, args.hidden),
    ]
    rows, results = [], {}
    for n in (1, args.processes):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "result.json")
            env = dict(os.environ, OMP_NUM_THREADS="1")
            if n == 1:
                cmd = [sys.executable, __file__, *worker_args, "--worker-out", out]
            else:
                port = _free_port()
                env.update(ACCELERATE_USE_CPU="true", MASTER_ADDR="127.0.0.1",
                           MASTER_PORT=str(port))
                cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                       "--num_processes", str(n), "--num_machines", "1",
                       "--mixed_precision", "no", "--dynamo_backend", "no",
                       "--main_process_ip", "127.0.0.1", "--main_process_port", str(port),
                       __file__, *worker_args, "--worker-out", out]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit(f"accelerate run with {n} process(es) failed:\n{proc.stderr[-4000:]}")
            with open(out) as fh:
                res = json.load(fh)
        res["wall"] = wall
        results[n] = res
    base = results[1]
    for n, res in results.items():
        rows.append((
            "Accelerate", f"{n} process{'es' if n > 1 else ''} x 1 thread",
            res["fit_time"], base["fit_time"] / res["fit_time"],
            f"{res['epoch_time'] * 1000:.1f} ms/epoch ({res['steps_per_epoch']} steps of "
            f"{args.batch_size} per process); clean-test accuracy {res['accuracy']:.3f}; "
            f"largest W difference between ranks {res['w_spread']:.1e}; launch+import+fit "
            f"{res['wall']:.1f} s",
        ))
    return rows


def load_average():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def machine_info():
    load = load_average()
    import accelerate
    import dask
    import skorch

    return (
        f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical CPUs, load average at start {load}; Python "
        f"{platform.python_version()}, torch {torch.__version__}, skorch {skorch.__version__}, "
        f"accelerate {accelerate.__version__}, dask {dask.__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise-rate", type=float, default=0.3)
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    parser.add_argument("--betas", type=float, nargs="+", default=[0.0, 0.5, 0.8, 0.9])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--grid-epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--accel-epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 512])
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--out", default="benchmarks/results/scaling.md")
    parser.add_argument("--accelerate-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.accelerate_worker:
        accelerate_worker(args)
        return
    if args.quick:
        args.alphas, args.betas, args.folds = [0.5, 0.9], [0.5, 0.9], 2
        args.grid_epochs, args.accel_epochs, args.hidden = 2, 3, [64]
    torch.set_num_threads(1)

    info = machine_info()
    X_tr, _, y_tr, _ = load_data(args.seed, args.noise_rate)
    start = time.perf_counter()
    rows, n_settings = grid_search(args, X_tr, y_tr)
    print(f"grid search done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    rows += accelerate_runs(args)

    lines = ["| part | setting | wall time (s) | speed-up | result |", "|---|---|---|---|---|"]
    lines += [f"| {p} | {s} | {t:.1f} | {x:.2f} | {r} |" for p, s, t, x, r in rows]
    table = "\n".join(lines)
    print(table)
    command = "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))
    with open(args.out, "w") as fh:
        fh.write("# Scaling out on CPU: Dask grid search and Accelerate data parallelism\n\n")
        fh.write(f"Command: `{command}`\n\n")
        fh.write(f"Machine: {info}.\n\n")
        fh.write(
            "**The machine was shared**: it has 2 cores. Another long benchmark used "
            "about one of them for the whole run, and other jobs came and went (load "
            f"average at start above, at the end {load_average()}). The 2-worker and "
            "2-process rows therefore had no free core for their second process. A "
            "speed-up below 1 here comes from that contention plus per-task overhead "
            "(pickling, scheduling; for Accelerate, a gradient all-reduce over gloo "
            "every step). It does not show how the code scales on an idle machine or a "
            "cluster. No GPU was available (none was lent to this task), so nothing "
            "here was measured on a GPU.\n\n"
        )
        fh.write(
            f"Data: scikit-learn's digits, 70/30 stratified split (seed {args.seed}), "
            f"{args.noise_rate:.0%} eq. (1) label noise on the training part. "
            f"(a) NNAQCClassifier (default MLP), {args.grid_epochs} epochs, "
            f"{n_settings} settings (alpha {args.alphas} x beta {args.betas}), "
            f"{args.folds}-fold CV on the noisy training part = "
            f"{n_settings * args.folds} fits, refit=False; the wall time of the Dask run "
            "excludes starting the LocalCluster. "
            f"(b) AcceleratedNNAQCClassifier, MLP hidden {tuple(args.hidden)}, "
            f"{args.accel_epochs} epochs, batch_size {args.batch_size} per process "
            "(so the 2-process run takes half the steps per epoch with twice the samples "
            "per step), accuracy on the clean test labels; wall time = fit time on "
            "rank 0; both runs use Accelerate's DataLoader path on CPU "
            "(`accelerate launch --multi_gpu --num_processes 2` with "
            "`ACCELERATE_USE_CPU=true`, gloo on 127.0.0.1).\n\n"
        )
        fh.write(table + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
