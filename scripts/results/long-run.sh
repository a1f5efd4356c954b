#!/usr/bin/env bash
# Long training runs for docs/results.md, resumable across sessions: each run trains in chunks of
# EVAL_EVERY generator iterations (--resume continues the checkpoint exactly), and after each chunk
# evaluates the latest checkpoint (FID, KID, classifier score, TVD against the test set) into
# metrics/iter-N.json. Rerunning the script picks up where it stopped (a killed chunk costs at most
# --checkpoint-every iterations). Run it at low priority on one thread: it shares the machine.
#
#   usage: scripts/results/long-run.sh APP_DIR RUNS_DIR [name ...]
#   APP_DIR: a project with torch-gan installed (npm install torch-gan-*.tgz)
#   names: fashion-wgangp mnist-wgangp fashion-dcgan fashion-dragan fashion-wgan (default: all, in that order),
#          mnist-wgangp-ema (the MNIST run keeping a generator EMA: evaluated with the EMA (iter-N.json)
#          and with the live generator (iter-N-live.json), the same run, so the two compare exactly),
#          mnist-wgangp-diffaug fashion-gan-r1 fashion-hinge-sn fashion-lsgan (issue #18's features, 5,000 each),
#          fashion-wgangp-bf16 (issue #17's --precision bf16, 5,000)
#   env: EVAL_EVERY (1000) THREADS (1) UNTIL (train each named run to this many iterations instead
#        of its own count below, e.g. to continue a finished run past it)
set -euo pipefail
app=$(cd "$1" && pwd); runs=$(mkdir -p "$2" && cd "$2" && pwd); shift 2
EVAL_EVERY=${EVAL_EVERY:-1000}
THREADS=${THREADS:-1}
declare -A FLAGS=(
  [fashion-wgangp]="--dset fashion --loss wgan-gp"
  [mnist-wgangp]="--dset mnist --loss wgan-gp"
  [fashion-dcgan]="--dset fashion --loss gan"
  [fashion-dragan]="--dset fashion --loss dragan"
  [fashion-wgan]="--dset fashion --loss wgan"
  [mnist-wgangp-ema]="--dset mnist --loss wgan-gp --ema-decay 0.999"
  # issue #18's features, each against its baseline at the same iterations (5,000)
  [mnist-wgangp-diffaug]="--dset mnist --loss wgan-gp --diff-augment color,translation,cutout"
  [fashion-gan-r1]="--dset fashion --loss gan --r1-gamma 10 --reg-every 16"
  [fashion-hinge-sn]="--dset fashion --loss hinge --critic-spectral-norm"
  [fashion-lsgan]="--dset fashion --loss lsgan"
  # issue #17's bf16 mixed precision: the default recipe, seed 1, against fashion-wgangp at the same iterations
  [fashion-wgangp-bf16]="--dset fashion --loss wgan-gp --precision bf16"
)
declare -A ITERS=([fashion-wgangp]=20000 [mnist-wgangp]=20000 [fashion-dcgan]=10000 [fashion-dragan]=10000 [fashion-wgan]=10000 [mnist-wgangp-ema]=20000
  [mnist-wgangp-diffaug]=5000 [fashion-gan-r1]=5000 [fashion-hinge-sn]=5000 [fashion-lsgan]=5000 [fashion-wgangp-bf16]=5000)
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(fashion-wgangp mnist-wgangp fashion-dcgan fashion-dragan fashion-wgan)
cd "$app"
for name in "${names[@]}"; do
  out="$runs/$name"; mkdir -p "$out/metrics"
  dset=$(sed -E 's/.*--dset ([a-z]+).*/\1/' <<<"${FLAGS[$name]}")
  until=${UNTIL:-${ITERS[$name]}}
  for ((k = EVAL_EVERY; k <= until; k += EVAL_EVERY)); do
    [ -f "$out/metrics/iter-$k.json" ] && continue
    resume=""; [ -f "$out/checkpoints/latest.json" ] && resume="--resume"
    echo "$(date -Is) $name: train to $k $resume"
    # shellcheck disable=SC2086
    nice -n 19 npx torch-gan train ${FLAGS[$name]} --iters "$k" --out "$out" --threads "$THREADS" \
      --sample-every "$EVAL_EVERY" --checkpoint-every 250 $resume >>"$out/train.log" 2>&1
    echo "$(date -Is) $name: evaluate $k"
    TORCH_GAN_NUM_THREADS=$THREADS nice -n 19 npx torch-gan evaluate --checkpoint "$out/checkpoints" --dset "$dset" \
      --json "$out/metrics/iter-$k.json.tmp" >>"$out/eval.log" 2>&1
    if [[ $name == *-ema ]]; then
      TORCH_GAN_NUM_THREADS=$THREADS nice -n 19 npx torch-gan evaluate --checkpoint "$out/checkpoints" --dset "$dset" --weights live \
        --json "$out/metrics/iter-$k-live.json" >>"$out/eval.log" 2>&1
    fi
    # keep the evaluated checkpoint (training keeps only the newest two), so a table row can be
    # regenerated or exported as a pretrained generator later; the optimizer state is left out
    ckpt=$(sed -E 's/.*"checkpoint": *"([^"]+)".*/\1/' <<<"$(tr -d '\n' <"$out/checkpoints/latest.json")")
    mkdir -p "$out/evaluated/$ckpt.tmp"
    cp "$out/checkpoints/$ckpt"/{generator*.safetensors,critic.safetensors,state.json} "$out/evaluated/$ckpt.tmp/"
    rm -rf "$out/evaluated/$ckpt"; mv "$out/evaluated/$ckpt.tmp" "$out/evaluated/$ckpt"
    mv "$out/metrics/iter-$k.json.tmp" "$out/metrics/iter-$k.json"
  done
done
echo "$(date -Is) all done"
