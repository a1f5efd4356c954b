#!/usr/bin/env bash
# Issue #19's parity runs: the default WGAN-GP recipe on Fashion-MNIST in plain PyTorch
# (scripts/parity/pytorch_wgan_gp.py) at two seeds, and torch-gan's second seed (its first is
# long-run.sh's fashion-wgangp), to ITERS generator iterations, each evaluated by torch-gan's own
# evaluate after every chunk of EVAL_EVERY iterations, the same way long-run.sh evaluates
# fashion-wgangp (classifier-FID etc. against the test set) into RUN/metrics/iter-K.json.
# Resumable across sessions like long-run.sh: each chunk continues the run exactly (torch-gan's
# train --resume; the Python script's --resume from checkpoints/resume.pt), a chunk whose
# metrics exist is skipped, and a killed chunk costs at most CHECKPOINT_EVERY iterations.
# The runs advance chunk by chunk in turn (all of them to 1,000, then all to 2,000, ...), so
# whenever it is stopped the runs stand at (nearly) the same iteration count.
# Run it at low priority on one thread: it shares the machine.
#
#   usage: scripts/results/parity-run.sh APP_DIR RUNS_DIR [name ...]
#   APP_DIR: a project with torch-gan installed (npm install torch-gan-*.tgz)
#   names: parity-pytorch-s1 parity-pytorch-s2 parity-torchgan-s2 (default: all three)
#   env: ITERS (20000) EVAL_EVERY (1000) N (evaluate's samples, 10000) THREADS (1)
#        CHECKPOINT_EVERY (250) PYTHON (/usr/bin/python3, with torch)
#   then: npx tsx scripts/results/report.ts RUNS_DIR (the parity table of docs/results.md)
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,19p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
script="$here/../parity/pytorch_wgan_gp.py"
[ -f "$script" ] || { echo "parity-run.sh: no $script" >&2; exit 2; }
app=$(cd "$1" && pwd); runs=$(mkdir -p "$2" && cd "$2" && pwd); shift 2
ITERS=${ITERS:-20000}
EVAL_EVERY=${EVAL_EVERY:-1000}
N=${N:-10000}
THREADS=${THREADS:-1}
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-250}
PYTHON=${PYTHON:-/usr/bin/python3}
declare -A SEED=([parity-pytorch-s1]=1 [parity-pytorch-s2]=2 [parity-torchgan-s2]=2)
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(parity-pytorch-s1 parity-pytorch-s2 parity-torchgan-s2)
for name in "${names[@]}"; do
  [ -n "${SEED[$name]:-}" ] || { echo "parity-run.sh: unknown run '$name' (known: ${!SEED[*]})" >&2; exit 2; }
done
"$PYTHON" -c 'import torch, numpy' || { echo "parity-run.sh: $PYTHON cannot import torch and numpy" >&2; exit 2; }
cd "$app"

chunk() { # name k: train the run to k (resuming), evaluate it, keep the evaluated checkpoint
  local name=$1 k=$2 out="$runs/$1" seed=${SEED[$1]} resume="" ckpt step f
  mkdir -p "$out/metrics"
  [ -f "$out/metrics/iter-$k.json" ] && return 0
  if [[ $name == parity-pytorch-* ]]; then
    [ -f "$out/checkpoints/resume.pt" ] && resume="--resume"
    echo "$(date -Is) $name: train to $k $resume"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=$THREADS nice -n 19 "$PYTHON" "$script" --iters "$k" --out "$out" --seed "$seed" --threads "$THREADS" \
      --checkpoint-every "$CHECKPOINT_EVERY" $resume >>"$out/train.log" 2>&1
  else
    [ -f "$out/checkpoints/latest.json" ] && resume="--resume"
    echo "$(date -Is) $name: train to $k $resume"
    # long-run.sh's fashion-wgangp, but --seed
    # shellcheck disable=SC2086
    nice -n 19 npx torch-gan train --dset fashion --loss wgan-gp --seed "$seed" --iters "$k" --out "$out" --threads "$THREADS" \
      --sample-every "$EVAL_EVERY" --checkpoint-every "$CHECKPOINT_EVERY" $resume >>"$out/train.log" 2>&1
  fi
  ckpt=$(sed -E 's/.*"checkpoint": *"([^"]+)".*/\1/' <<<"$(tr -d '\n' <"$out/checkpoints/latest.json")")
  step=$(sed -E 's/.*"step": *([0-9]+).*/\1/' <<<"$(tr -d '\n' <"$out/checkpoints/latest.json")")
  [ "$step" = "$k" ] || { echo "parity-run.sh: $name: trained to $k but latest.json is at step $step" >&2; exit 1; }
  echo "$(date -Is) $name: evaluate $k"
  TORCH_GAN_NUM_THREADS=$THREADS nice -n 19 npx torch-gan evaluate --checkpoint "$out/checkpoints" --dset fashion --n "$N" \
    --json "$out/metrics/iter-$k.json.tmp" >>"$out/eval.log" 2>&1
  # keep the evaluated checkpoint (training keeps only the newest two), as long-run.sh does; the
  # optimizer state is left out (the Python runs have no critic.safetensors: their critic is in resume.pt)
  mkdir -p "$out/evaluated/$ckpt.tmp"
  for f in "$out/checkpoints/$ckpt"/{generator.safetensors,generator_ema.safetensors,critic.safetensors,state.json}; do
    if [ -f "$f" ]; then cp "$f" "$out/evaluated/$ckpt.tmp/"; fi
  done
  rm -rf "${out:?}/evaluated/$ckpt"; mv "$out/evaluated/$ckpt.tmp" "$out/evaluated/$ckpt"
  mv "$out/metrics/iter-$k.json.tmp" "$out/metrics/iter-$k.json"
}

for ((k = EVAL_EVERY; k <= ITERS; k += EVAL_EVERY)); do
  for name in "${names[@]}"; do chunk "$name" "$k"; done
done
echo "$(date -Is) all done"
