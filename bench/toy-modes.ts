// Seed 002's toy recipe (WGAN with weight clipping ±0.5, lr 1e-3 for both, batch 512, noise 128;
// RMSprop and 5 critic steps from the engine's wgan recipe) against the gradient penalty
// (wgan-gp, the same lr, batch and noise; Adam (0.5, 0.9) and λ from the engine's recipe) on
// 8 Gaussians, the same number of generator iterations each, through `torch-gan train`'s trainRun.
//   npx tsx bench/toy-modes.ts [ITERS=400] [OUT=generated/toy-modes] [LAMBDA=10]
// Prints the modes covered (a mode counts with >= 1% of 2000 samples within 0.1 of its centre).
import * as path from 'path';
import { parseFlags } from '../lib/cli/args';
import { trainFlags, trainRun } from '../lib/cli/train-run';

const iters = process.argv[2] ?? '400';
const out = process.argv[3] ?? path.join('generated', 'toy-modes');
const lambda = process.argv[4] ?? '10';
const seed = ['--dset', 'toy', '--lr_G', '1E-3', '--lr_D', '1E-3', '--batch_size', '512', '--noise_dim', '128', '--iters', iters, '--sample-every', '50', '--checkpoint-every', iters, '--threads', '1'];
const runs: [string, string[]][] = [
  ['wgan, clipping ±0.5 (seed 002)', ['--loss', 'wgan', '--clamp_lower', '-0.5', '--clamp_upper', '0.5']],
  [`wgan-gp, λ ${lambda}`, ['--loss', 'wgan-gp', '--lambda', lambda]],
];

async function main() {
  const rows: string[] = [];
  for (const [name, extra] of runs) {
    const t0 = Date.now();
    const dir = path.join(out, extra[1] + (extra[1] === 'wgan-gp' ? `-l${lambda}` : ''));
    const r = await trainRun(parseFlags([...seed, ...extra, '--out', dir], trainFlags('mnist')), () => {});
    const m = r.modes!;
    rows.push(`${name}: ${iters} iterations, modes covered ${m.modesCovered}/8, ${(m.highQuality * 100).toFixed(1)}% of samples within 0.1 of a centre, mean distance ${m.meanDistance.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s; ${dir}/latest.png)`);
    console.log(rows[rows.length - 1]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
