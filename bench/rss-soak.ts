// RSS over a long training run (issue #22 item 10): where does resident memory grow when no
// tensor leaks? Trains a small DCGAN (WGAN-GP, 512 MNIST digits, batch 16, width 8) for --iters
// steps and prints one JSON line per --every steps: rss, JS heap, live tensors, native bytes.
//   npx tsx bench/rss-soak.ts --iters 2000 --every 100 [--artefacts] [--trim]
//   --artefacts  also writes the CLI's artefacts every 100 steps (grid PNG, loss plot, progress GIF)
//   node --expose-gc: a full GC before each report, so JS garbage not yet collected is not counted
//   --max-growth-mb M  exit 1 when RSS (after a full GC; needs --expose-gc) grows more than M MB
//                from the first quarter of the run to its end
// Compare MALLOC_ARENA_MAX=2 / ONEDNN_PRIMITIVE_CACHE_CAPACITY=0 runs to split the growth by cause.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { openRun } from '../lib/gan/run';
import { writeRunArtefacts, LossRow } from '../lib/gan/artefacts';

async function main(): Promise<void> {
  const arg = (name: string, def: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : def;
  };
  const iters = arg('iters', 2000);
  const every = arg('every', 100);
  const artefacts = process.argv.includes('--artefacts');
  const maxGrowth = arg('max-growth-mb', Infinity);
  const samples: { iter: number; rss: number }[] = [];
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-soak-'));
  fs.mkdirSync(path.join(out, 'samples'));
  const run = await openRun({ limit: 512, batchSize: 16, baseWidth: 8, noiseDim: 16, iters, seed: 1 });
  const rows: LossRow[] = [];
  const t0 = Date.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  const report = (iter: number) => {
    gc?.(); // with node --expose-gc: what remains after a full collection
    const m = process.memoryUsage();
    samples.push({ iter, rss: m.rss / 2 ** 20 });
    const t = tg.memory();
    console.log(JSON.stringify({ iter, rssMB: +(m.rss / 2 ** 20).toFixed(1), heapMB: +(m.heapUsed / 2 ** 20).toFixed(1), externalMB: +(m.external / 2 ** 20).toFixed(1), tensors: t.tensors, tensorMB: +(t.bytes / 2 ** 20).toFixed(1), seconds: (Date.now() - t0) / 1000 }));
  };
  report(0);
  try {
    for (let iter = 1; iter <= iters; iter++) {
      const s = run.trainStep();
      rows.push({ iter, criticLoss: s.criticLoss, generatorLoss: s.generatorLoss, wasserstein: s.wassersteinEstimate, penalty: s.penalty, gradNorm: s.gradNorm, seconds: 0 });
      if (artefacts && iter % 100 === 0) writeRunArtefacts(out, iter, run.fixedNoiseGrid(), run.config, rows);
      if (iter % every === 0) report(iter);
    }
  } finally {
    run.dispose();
    fs.rmSync(out, { recursive: true, force: true });
  }
  const from = samples.find((s) => s.iter >= iters / 4) ?? samples[0];
  const growth = samples[samples.length - 1].rss - from.rss;
  console.log(`RSS growth from iteration ${from.iter} to ${iters}: ${growth.toFixed(1)} MB${gc ? '' : ' (without --expose-gc: includes JS garbage not yet collected)'}`);
  if (growth > maxGrowth) {
    console.error(`RSS grew ${growth.toFixed(1)} MB, more than --max-growth-mb ${maxGrowth}`);
    process.exitCode = 1;
  }
}

void main();
