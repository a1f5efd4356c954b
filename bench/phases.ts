// Where a WGAN-GP iteration's time goes, phase by phase, torch-gan against PyTorch: the
// iteration of bench/workloads.ts (torch-gan, in this process) and of bench/pytorch_bench.py
// (bench/phases.py, a child process) with a clock read between phases. CPU ops run
// synchronously, so the laps are exact. Rounds alternate the two sides; medians are printed.
//
//   npx tsx bench/phases.ts [--rounds 3] [--iters 10] [--threads N] [--python PATH]
//   TORCH_GAN_FAST_KERNELS=0 npx tsx bench/phases.ts    # torch-gan with libtorch's own kernels
import { spawnSync } from 'child_process';
import * as path from 'path';
import { gan, getNumThreads, manualSeed, randn, setNumThreads, tidy } from '../lib';
import { BATCH, Batches, Workload, Z } from './workloads';
import { BENCH, checkFlags, childEnv, cores, defaultPython, fmt, median, parseFlags, positiveIntFlag, pythonTorchProblem, table } from './common';

type Laps = Record<string, number>;

function tsPhases(w: Workload, data: Batches, iters: number): Laps {
  const { G, D, optD, optG } = w;
  const laps: Laps = {};
  let clock = 0;
  const lap = (k: string): void => {
    const t = performance.now();
    laps[k] = (laps[k] ?? 0) + t - clock;
    clock = t;
  };
  for (let i = 0; i < iters; i++) {
    for (let k = 0; k < 5; k++) {
      tidy(() => {
        clock = performance.now();
        const real = data.next();
        const fake = G.forward(randn([BATCH, Z, 1, 1])).detach();
        lap('generator forward (critic steps)');
        optD.zeroGrad();
        const dReal = D.forward(real);
        const dFake = D.forward(fake);
        lap('critic forward, real and fake');
        const { penalty } = gan.gradientPenalty(D, real, fake, { lambda: 10 });
        lap('penalty: forward and input gradient');
        const loss = gan.wassersteinCriticLoss(dReal, dFake).add(penalty);
        loss.backward();
        lap('critic backward (incl. double backward)');
        optD.step();
        loss.item();
        lap('critic Adam step');
      });
    }
    tidy(() => {
      clock = performance.now();
      optG.zeroGrad();
      const loss = D.forward(G.forward(randn([BATCH, Z, 1, 1]))).mean().neg();
      lap('generator step: forward');
      loss.backward();
      lap('generator step: backward');
      optG.step();
      loss.item();
      lap('generator Adam step');
    });
  }
  for (const k of Object.keys(laps)) laps[k] /= iters;
  return laps;
}

function main(): void {
  const f = parseFlags(process.argv.slice(2));
  checkFlags(f, ['rounds', 'iters', 'threads', 'python', 'help']);
  if (f.has('help')) {
    console.log('Usage: npx tsx bench/phases.ts [--rounds 3] [--iters 10] [--threads N] [--python PATH]');
    return;
  }
  const int = (k: string, d: number): number => positiveIntFlag(f, k, d);
  const rounds = int('rounds', 3);
  const iters = int('iters', 10);
  const threads = int('threads', cores());
  const python = typeof f.get('python') === 'string' ? String(f.get('python')) : defaultPython();
  setNumThreads(threads);
  manualSeed(3);
  const data = new Batches();
  const w = new Workload('wgan-gp', data);
  tsPhases(w, data, 3); // warm-up
  const pyProblem = pythonTorchProblem(python);
  const ts: Laps[] = [];
  const py: Laps[] = [];
  for (let r = 0; r < rounds; r++) {
    ts.push(tsPhases(w, data, iters));
    if (pyProblem) continue;
    const out = spawnSync(python, [path.join(BENCH, 'phases.py'), '--threads', String(threads), '--iters', String(iters)], {
      encoding: 'utf8', env: childEnv(threads), cwd: BENCH,
    });
    if (out.status !== 0) throw new Error(`bench/phases.py failed: ${(out.stderr || '').trim().split('\n').pop()}`);
    py.push(JSON.parse(out.stdout) as Laps);
  }
  const kernels = process.env.TORCH_GAN_FAST_KERNELS === '0' ? "libtorch's own kernels (TORCH_GAN_FAST_KERNELS=0)" : 'its kernel substitutions on';
  console.log(`WGAN-GP iteration by phase, ms per iteration, median of ${rounds} rounds of ${iters} iterations; ${getNumThreads()} thread(s); torch-gan with ${kernels}`);
  const keys = Object.keys(ts[0]);
  const med = (ls: Laps[], k: string): number => (ls.length ? median(ls.map((l) => l[k])) : NaN);
  const rows = keys.map((k) => [k, fmt(med(ts, k), 1), fmt(med(py, k), 1), fmt(med(ts, k) / med(py, k), 2)]);
  const total = (ls: Laps[]): number => (ls.length ? median(ls.map((l) => Object.values(l).reduce((a, b) => a + b, 0))) : NaN);
  rows.push(['total', fmt(total(ts), 1), fmt(total(py), 1), fmt(total(ts) / total(py), 2)]);
  console.log(table(['phase', 'torch-gan', 'PyTorch', 'torch-gan/PyTorch'], rows));
  if (pyProblem) console.log(`PyTorch: skipped, ${pyProblem}`);
}

main();
