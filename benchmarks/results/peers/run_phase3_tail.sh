#!/bin/sh
# Started by the cleanlab process of run_phase3.sh once it finished: the cells process b of
# run_phase3.sh has not reached, in reverse order, so the two meet in the middle (a cell that
# both happen to fit is kept once, the first row, by the summary).
set -e
REV="symmetric:0.2 symmetric:0.8 pairflip:0.45 random:0.5 symmetric:0.5"
step() { python benchmarks/bench_peers.py --threads 1 --seeds 1 "$@"; }
for seed in 2 1; do
  for noise in $REV; do step --seed-offset $seed --noise $noise --methods coteaching; done
done
for noise in $REV; do step --seed-offset 2 --noise $noise --methods fcorrection sce gce; done
python benchmarks/bench_peers.py --threads 1 --summary-only
