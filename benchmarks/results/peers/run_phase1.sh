#!/bin/sh
# Phase 1 of the peers run (issue 11), started before NNAQC's defaults were final: only the
# methods that do not use NNAQC's loss. One process, one torch thread, run from the
# repository root; every step appends to benchmarks/results/peers/runs.csv and skips runs
# already there. Stops between steps once /work/wt/notes/defaults.md says FINAL (phase 2,
# run_phase2.sh, then adds NNAQC and whatever is missing).
final() { grep -q "STATUS: FINAL" /work/wt/notes/defaults.md 2>/dev/null; }
for seed in 0 1 2; do
  for noise in symmetric:0.5 random:0.5 pairflip:0.45 symmetric:0.2 symmetric:0.8; do
    final && exit 0
    python benchmarks/bench_peers.py --threads 1 --seeds 1 --seed-offset $seed \
      --noise $noise --methods skorch base_es fcorrection
  done
done
for noise in symmetric:0.5 random:0.5 pairflip:0.45 symmetric:0.2 symmetric:0.8; do
  final && exit 0
  python benchmarks/bench_peers.py --threads 1 --seeds 1 --noise $noise --methods cleanlab
done
