// Parity: torch-gan against plain PyTorch on the same WGAN-GP recipe (Fashion-MNIST), judged by
// the same classifier and metrics.
//
//   npx tsx scripts/parity/run.ts --iters 300 [--seeds 1] [--threads 1] [--n 10000] [--out generated/parity]
//
// 1. torch-gan: examples/mnist.ts's engine in process (trainRun with --dset fashion --loss wgan-gp,
//    every other flag at its default), into OUT/torch-gan-sSEED.
// 2. PyTorch: /usr/bin/python3 scripts/parity/pytorch_wgan_gp.py (the same recipe written in
//    PyTorch), into OUT/pytorch-sSEED; it writes a checkpoint torch-gan can load.
// 3. Both generators evaluated by npx torch-gan evaluate's evaluateCheckpoint (n samples vs the
//    t10k test set, models/classifier-fashion.safetensors), beside the real-vs-real baselines.
// 4. A Markdown table to stdout, OUT/parity.json, and (unless --no-docs) into docs/quality.md
//    between the '<!-- parity:start -->' and '<!-- parity:end -->' markers, with this command.
// The two trainings run one after the other with the same thread count, so the it/s compare.
// --skip-train re-evaluates the runs already in OUT.
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tg from '../../lib';
import { runCli, parseFlags } from '../../lib/cli/args';
import { trainFlags, trainRun } from '../../lib/cli/train-run';
import { evaluateCheckpoint, CheckpointEvaluation, realSide } from '../../lib/cli/evaluate';
import { loadClassifier, classifierPath } from '../../lib/metrics';
import { writeJsonAtomic } from '../../lib/io/atomic';

const flags = {
  iters: { type: 'int', min: 1, default: 300, help: 'generator iterations of each run' },
  seeds: { type: 'string', default: '1', help: 'comma-separated seeds; each seed trains both implementations' },
  threads: { type: 'int', min: 1, default: 1, help: 'libtorch threads for both trainings (1: no OpenMP waits on a shared machine)' },
  n: { type: 'int', min: 100, default: 10000, help: 'generated samples per evaluation' },
  out: { type: 'string', default: 'generated/parity', help: 'output folder (generated/ is git-ignored)' },
  'skip-train': { type: 'bool', default: false, help: 'only evaluate the runs already in --out' },
  'no-docs': { type: 'bool', default: false, help: 'do not update docs/quality.md' },
  python: { type: 'string', default: '/usr/bin/python3', help: 'the Python with PyTorch' },
} as const;

const root = path.resolve(__dirname, '..', '..');

interface RunResult { impl: 'torch-gan' | 'PyTorch'; seed: number; seconds: number; itPerSecond: number; evaluation: CheckpointEvaluation }

/** Seconds of the training loop (from its first iteration to the last), from losses.jsonl: both implementations log it alike. */
function loopSeconds(dir: string, iters: number): number {
  const rows = fs.readFileSync(path.join(dir, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { iter: number; seconds: number });
  return rows.filter((r) => r.iter <= iters).pop()?.seconds ?? NaN;
}

const sig = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(3)) : 'n/a');
const f3 = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

function table(results: RunResult[], command: string, iters: number, threads: number): string {
  const lines = [
    `Command: \`${command}\` (${iters} iterations of batch 64, n_critic 5, ${threads} thread${threads === 1 ? '' : 's'}, ${new Date().toISOString().slice(0, 10)}; libtorch ${tg.diagnostics().libtorch.version}).`,
    '',
    '| implementation | seed | it/s (training loop) | FID | KID | classifier score | TVD |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const g = r.evaluation.generated;
    lines.push(`| ${r.impl} | ${r.seed} | ${f3(r.itPerSecond)} | ${f3(g.fid)} | ${sig(g.kid.mean)} ± ${sig(g.kid.std)} | ${f3(g.score.mean)} ± ${f3(g.score.std)} | ${f3(g.tvd, 4)} |`);
  }
  const mean = (impl: string, key: (e: CheckpointEvaluation) => number) => {
    const v = results.filter((r) => r.impl === impl).map((r) => key(r.evaluation));
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  const fidT = mean('torch-gan', (e) => e.generated.fid);
  const fidP = mean('PyTorch', (e) => e.generated.fid);
  const b = results[0].evaluation;
  lines.push(`| real: train vs test | — | — | ${f3(b.baselineTrain.fid)} | ${sig(b.baselineTrain.kid.mean)} ± ${sig(b.baselineTrain.kid.std)} | ${f3(b.baselineTrain.score.mean)} | ${f3(b.baselineTrain.tvd, 4)} |`);
  lines.push(`| real: test half vs half | — | — | ${f3(b.baselineHalves.fid)} | ${sig(b.baselineHalves.kid.mean)} ± ${sig(b.baselineHalves.kid.std)} | ${f3(b.baselineHalves.score.mean)} | ${f3(b.baselineHalves.tvd, 4)} |`);
  lines.push('');
  lines.push(`Mean FID: torch-gan ${f3(fidT)}, PyTorch ${f3(fidP)}: torch-gan's is ${f3(Math.abs(100 * (fidT - fidP)) / fidP, 1)}% ${fidT >= fidP ? 'above' : 'below'} PyTorch's (goal: within 10%).`);
  return lines.join('\n');
}

function updateDocs(block: string): void {
  const file = path.join(root, 'docs', 'quality.md');
  const start = '<!-- parity:start -->';
  const end = '<!-- parity:end -->';
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Quality\n\n## Parity with PyTorch\n\n${start}\n${end}\n`;
  if (!text.includes(start) || !text.includes(end)) text += `\n## Parity with PyTorch\n\n${start}\n${end}\n`;
  const a = text.indexOf(start) + start.length;
  const b = text.indexOf(end);
  text = text.slice(0, a) + '\n' + block + '\n' + text.slice(b);
  fs.writeFileSync(file, text);
}

runCli('Parity: torch-gan vs PyTorch WGAN-GP on Fashion-MNIST, same metrics\n\nUsage: npx tsx scripts/parity/run.ts [--iters 300] [--seeds 1,2]', flags, async (f) => {
  const iters = f.iters as number;
  const threads = f.threads as number;
  const seeds = String(f.seeds).split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds expects comma-separated non-negative integers, received '${f.seeds}'`);
  const out = path.resolve(f.out as string);
  fs.mkdirSync(out, { recursive: true });
  if (!fs.existsSync(classifierPath('fashion'))) throw new Error(`no ${classifierPath('fashion')}: run npx tsx scripts/train-classifier.ts --dset fashion first`);
  tg.setNumThreads(threads);
  const command = `npx tsx scripts/parity/run.ts --iters ${iters} --seeds ${seeds.join(',')} --threads ${threads} --n ${f.n}`;
  const dirs = (seed: number) => ({ ours: path.join(out, `torch-gan-s${seed}`), theirs: path.join(out, `pytorch-s${seed}`) });

  if (!f.skipTrain) {
    for (const seed of seeds) {
      const { ours, theirs } = dirs(seed);
      console.log(`\n== torch-gan, seed ${seed}: ${iters} iterations -> ${ours}`);
      const flagsOurs = parseFlags(['--dset', 'fashion', '--iters', String(iters), '--seed', String(seed), '--out', ours,
        '--threads', String(threads), '--sample-every', String(Math.max(iters, 1)), '--checkpoint-every', String(iters)], trainFlags('fashion'));
      await trainRun(flagsOurs);
      console.log(`\n== PyTorch, seed ${seed}: ${iters} iterations -> ${theirs}`);
      const r = spawnSync(f.python as string, [path.join(__dirname, 'pytorch_wgan_gp.py'), '--iters', String(iters), '--seed', String(seed), '--out', theirs, '--threads', String(threads)], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`pytorch_wgan_gp.py failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    }
  }

  console.log('\n== evaluation');
  const clf = loadClassifier('fashion');
  const real = realSide('fashion', clf, f.n as number);
  clf.dispose();
  const results: RunResult[] = [];
  for (const seed of seeds) {
    const { ours, theirs } = dirs(seed);
    for (const [impl, dir] of [['torch-gan', ours], ['PyTorch', theirs]] as const) {
      const evaluation = evaluateCheckpoint(path.join(dir, 'checkpoints'), { n: f.n as number, dset: 'fashion', real, log: (m) => console.log(m) });
      const seconds = loopSeconds(dir, evaluation.step);
      results.push({ impl, seed, seconds, itPerSecond: evaluation.step / seconds, evaluation });
      console.log(`${impl} seed ${seed}: FID ${evaluation.generated.fid.toFixed(3)}`);
    }
  }
  const block = table(results, command, iters, threads);
  console.log('\n' + block);
  writeJsonAtomic(path.join(out, 'parity.json'), { command, iters, threads, results: results.map((r) => ({ ...r, evaluation: { ...r.evaluation, config: undefined } })) });
  if (!f.noDocs) {
    updateDocs(block);
    console.log(`\nupdated ${path.join(root, 'docs', 'quality.md')}`);
  }
});
