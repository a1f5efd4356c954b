// Issue #17's first lever in torch-gan: the WGAN-GP iteration of bench/workloads.ts with NCHW
// weights against channels-last (NHWC) ones (module.toMemoryFormat('channelsLast')), each with
// torch-gan's CPU kernel substitutions on and off (setFastKernels, as TORCH_GAN_FAST_KERNELS=0).
// The four variants run alternately in one process, round after round, so a busy machine slows
// them alike: the ratios within a run are what count. The load average is printed beside them.
//
//   npx tsx bench/channels-last.ts [--rounds 3] [--iters 5] [--threads N] [--kernels both|on|off]
import * as os from 'os';
import { getNumThreads, manualSeed, setFastKernels, setNumThreads } from '../lib';
import type { MemoryFormat } from '../lib';
import { Batches, Workload } from './workloads';
import { checkFlags, cores, fmt, median, parseFlags, positiveIntFlag, table } from './common';

interface Variant {
  label: string;
  fast: boolean;
  format: MemoryFormat;
  w: Workload;
  ms: number[];
  losses: { d: number; g: number };
}

function main(): void {
  const f = parseFlags(process.argv.slice(2));
  checkFlags(f, ['rounds', 'iters', 'threads', 'kernels', 'help']);
  if (f.has('help')) {
    console.log('Usage: npx tsx bench/channels-last.ts [--rounds 3] [--iters 5] [--threads N] [--kernels both|on|off]');
    return;
  }
  const rounds = positiveIntFlag(f, 'rounds', 3);
  const iters = positiveIntFlag(f, 'iters', 5);
  setNumThreads(positiveIntFlag(f, 'threads', cores()));
  const kernels = String(f.get('kernels') ?? 'both');
  if (!['both', 'on', 'off'].includes(kernels)) throw new Error(`--kernels expects both, on or off, got '${kernels}'`);
  const fasts = kernels === 'both' ? [true, false] : [kernels === 'on'];
  const data = new Batches();
  const variants: Variant[] = [];
  for (const fast of fasts) {
    for (const format of ['contiguous', 'channelsLast'] as const) {
      // the same seed: every variant starts from the same weights
      manualSeed(3);
      const w = new Workload('wgan-gp', data, true, 'fp32', format);
      variants.push({ label: `${format === 'contiguous' ? 'NCHW' : 'channels-last'}, substitutions ${fast ? 'on' : 'off'}`, fast, format, w, ms: [], losses: { d: NaN, g: NaN } });
    }
  }
  const load0 = os.loadavg()[0];
  for (const v of variants) {
    setFastKernels(v.fast);
    v.w.iteration(); // warm-up: oneDNN primitives and allocator caches
  }
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      setFastKernels(v.fast);
      const t = performance.now();
      for (let i = 0; i < iters; i++) v.losses = v.w.iteration();
      v.ms.push((performance.now() - t) / iters);
      process.stderr.write(`round ${r + 1}: ${v.label} ${fmt(v.ms[r], 1)} ms/it\n`); // progress: the full run takes minutes on a busy machine
    }
  }
  setFastKernels(true);
  const load1 = os.loadavg()[0];
  console.log(`WGAN-GP iteration (bench/workloads.ts), ms per iteration: ${rounds} rounds x ${iters} iterations, variants alternating; ` +
    `${getNumThreads()} thread(s), ${os.cpus().length} cores, load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}`);
  const base = (v: Variant): Variant => variants.find((b) => b.fast === v.fast && b.format === 'contiguous') as Variant;
  console.log(table(['variant', 'rounds (ms/it)', 'median', 'vs NCHW', 'last losses (d, g)'], variants.map((v) => [
    v.label, v.ms.map((m) => fmt(m, 1)).join(' '), fmt(median(v.ms), 1), fmt(median(v.ms) / median(base(v).ms), 3),
    `${v.losses.d.toFixed(4)} ${v.losses.g.toFixed(4)}`,
  ])));
}

main();
