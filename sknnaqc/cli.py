"""The ``sknnaqc`` command: NNAQC vs other methods on data with injected label noise.

With no arguments it runs a small experiment on scikit-learn's digits (no
download): eq. (1) noise at 0, 30, 50 and 70 %, NNAQC vs the base model, 3
seeds; it prints the clean-test error table and writes it, the per-run CSV
and a plot to ``sknnaqc-results/``.
"""

import argparse
import os
import shlex
import sys
import time

import torch
from skorch.callbacks import Callback

from .experiment import DATASETS, METHODS, PAPER_METHODS, run_experiment, write_summary

__all__ = ["main", "build_parser"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sknnaqc",
        description="Train NNAQC and baseline methods on data with injected label noise "
                    "and report clean-test error.",
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits",
                        help="digits needs no files; the others read --data-dir "
                             "(fashion-mnist defaults to /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--data-dir", default=None, help="folder with the dataset's files")
    parser.add_argument("--noise-kind", default="random",
                        choices=["random", "symmetric", "pairflip", "sparse"],
                        help="transition matrix kind; 'random' is the paper's eq. (1)")
    parser.add_argument("--noise-rates", type=float, nargs="+", default=[0.0, 0.3, 0.5, 0.7])
    parser.add_argument("--methods", nargs="+", default=["base", "nnaqc"],
                        help=f"any of {sorted(METHODS)}, or 'all' for the paper's nine")
    parser.add_argument("--train-sizes", type=int, nargs="+", default=None,
                        help="training-set sizes (stratified subsets); default: all")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per fit (default: " + ", ".join(
                            f"{k} {v[0]}" for k, v in DATASETS.items()) + ")")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3, Adam)")
    parser.add_argument("--device", default="cpu", help='"cpu", "cuda" or "auto"')
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: 1 for digits, where one thread is "
                             "fastest for the small MLP; torch's default otherwise)")
    parser.add_argument("--output", default="sknnaqc-results", help="results folder")
    parser.add_argument("--verbose", action="store_true",
                        help="also print skorch's per-epoch table for every fit")
    parser.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                        help="one status line per epoch on stderr while a fit runs; "
                             "auto (default): only when stderr is a terminal, where the "
                             "line is overwritten in place (no log flooding)")
    return parser


class _EpochProgress(Callback):
    """Compact per-epoch status of the running fit on stderr.

    With ``overwrite=True`` (a terminal) one line is rewritten in place after
    every epoch and erased when the fit ends; otherwise one line per epoch is
    printed. sys.stderr is looked up at each write (it may be replaced).
    """

    def __init__(self, overwrite=True):
        self.overwrite = overwrite

    def on_train_begin(self, net, **kwargs):
        self.start_, self.width_ = time.time(), 0

    def on_epoch_end(self, net, **kwargs):
        last = net.history[-1]
        loss = last.get("train_loss")
        text = (f"  epoch {last['epoch']}/{net.max_epochs}"
                + ("" if loss is None else f"  train loss {loss:.4f}")
                + f"  {time.time() - self.start_:.0f} s")
        if self.overwrite:
            sys.stderr.write("\r" + text.ljust(self.width_))
            self.width_ = max(self.width_, len(text))
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def on_train_end(self, net, **kwargs):
        if self.overwrite and self.width_:
            sys.stderr.write("\r" + " " * self.width_ + "\r")
            sys.stderr.flush()


def _validate(args, parser):
    if any(not 0 <= p <= 1 for p in args.noise_rates):
        parser.error(f"--noise-rates must be in [0, 1], got {args.noise_rates}")
    if "all" in args.methods:
        extra = [m for m in args.methods if m != "all" and m not in PAPER_METHODS]
        args.methods = list(PAPER_METHODS) + extra
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown --methods {unknown}; choose from {sorted(METHODS)} or 'all'")
    for name in ("seeds", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    _validate_device(args.device, parser)
    _validate_output(args.output, parser)


def _validate_device(device, parser):
    if device == "auto":
        return
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        parser.error(f'--device must be "cpu", "cuda", "cuda:N" or "auto", got {device!r}')
    if parsed.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {device}: torch finds no CUDA GPU on this machine; "
                     "use --device auto to use a GPU only when there is one")


def _validate_output(output, parser):
    path = os.path.abspath(output)
    while True:
        if os.path.exists(path) and not os.path.isdir(path):
            where = "is" if path == os.path.abspath(output) else f"lies under {path!r}, which is"
            parser.error(f"--output {output!r} {where} an existing file, not a folder")
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    _validate(args, parser)
    if args.threads is None and args.dataset == "digits":
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    argv = sys.argv[1:] if argv is None else argv
    command = "sknnaqc " + " ".join(shlex.quote(a) for a in argv)
    estimator_params = {} if args.lr is None else {"lr": args.lr}
    if args.verbose:
        estimator_params["verbose"] = 1
    tty = sys.stderr.isatty()
    show = not args.verbose and (args.progress == "always" or (args.progress == "auto" and tty))
    callbacks = [_EpochProgress(overwrite=tty)] if show else None
    start = time.time()
    try:
        rows = run_experiment(
            dataset=args.dataset, data_dir=args.data_dir, noise_kind=args.noise_kind,
            noise_rates=args.noise_rates, methods=args.methods,
            train_sizes=args.train_sizes or [None], seeds=range(args.seeds),
            epochs=args.epochs, batch_size=args.batch_size, device=args.device,
            results_csv=f"{args.output}/runs.csv", estimator_params=estimator_params,
            callbacks=callbacks,
        )
    except (OSError, ValueError) as exc:
        print(f"sknnaqc: error: {exc}", file=sys.stderr)
        return 2
    epochs = args.epochs or DATASETS[args.dataset][0]
    notes = (f"Dataset {args.dataset}, network: {DATASETS[args.dataset][1]}; noise kind "
             f"{args.noise_kind}; {epochs} epochs, batch size {args.batch_size}, device "
             f"{args.device}, {torch.get_num_threads()} torch threads; wall time "
             f"{time.time() - start:.0f} s (runs already in runs.csv are not re-run).")
    table = write_summary(rows, args.output, title=f"Clean-test error on {args.dataset}",
                          command=command, notes=notes, method_order=args.methods)
    print(table)
    print(f"Results written to {args.output}/ (summary.md, summary.csv, runs.csv, "
          "error_vs_noise.png)", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
