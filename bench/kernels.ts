// torch-gan's CPU kernel substitutions (native/cpu_kernels.cc), every one forced on ('all'), one
// by one, on any libtorch version: the same op on the same tensors with the substitutions on and off,
// interleaved, the best of several repeats (µs per call). "off" is exactly libtorch's kernel,
// the one PyTorch runs. Three measurements per case: the forward alone; forward + backward
// (the gradients a training step needs); forward + backward with createGraph + the gradient
// of a penalty-like function of the input gradient (what WGAN-GP and DRAGAN do).
//
//   npx tsx bench/kernels.ts [--repeats 7] [--n 20] [--threads N] [--only TEXT]
import { checkFlags, cores, fmt, parseFlags, positiveIntFlag, table } from './common';
import * as tg from '../lib';
import type { Tensor } from '../lib';

const { autograd } = tg;
const conv2d = (x: Tensor, w: Tensor, o: tg.F.Conv2dOptions): Tensor => tg.F.conv2d(x, w, null, o);

interface Case {
  name: string;
  /** which substitution applies */
  via: string;
  input: number[];
  weight: number[];
  op: (x: Tensor, w: Tensor | null) => Tensor;  // w is null for cases without a weight
}

const S2P1 = { stride: 2, padding: 1 };
const CASES: Case[] = [
  { name: 'critic conv 1->32, 28x28, 4x4 s2 p1', via: 'input gradient by im2col', input: [64, 1, 28, 28], weight: [32, 1, 4, 4], op: (x, w) => conv2d(x, w!, S2P1) },
  { name: 'critic conv 3->64, 64x64, 4x4 s2 p1', via: 'input gradient by im2col', input: [64, 3, 64, 64], weight: [64, 3, 4, 4], op: (x, w) => conv2d(x, w!, S2P1) },
  { name: 'critic conv 32->64, 14x14, 4x4 s2 p1', via: 'own double backward', input: [64, 32, 14, 14], weight: [64, 32, 4, 4], op: (x, w) => conv2d(x, w!, S2P1) },
  { name: 'critic conv 64->128, 7x7, 3x3 s2 p1', via: 'own double backward', input: [64, 64, 7, 7], weight: [128, 64, 3, 3], op: (x, w) => conv2d(x, w!, S2P1) },
  { name: 'critic conv 128->1, 4x4, 4x4 (last layer)', via: 'matrix product', input: [64, 128, 4, 4], weight: [1, 128, 4, 4], op: (x, w) => conv2d(x, w!, {}) },
  { name: 'generator convT 100->128, 1x1 -> 4x4', via: 'matrix product', input: [64, 100, 1, 1], weight: [100, 128, 4, 4], op: (x, w) => tg.F.convTranspose2d(x, w!, null, {}) },
  { name: 'generator convT 128->64, 4x4 -> 7x7, 3x3 s2 p1', via: 'oneDNN (as a convolution gradient)', input: [64, 128, 4, 4], weight: [128, 64, 3, 3], op: (x, w) => tg.F.convTranspose2d(x, w!, null, S2P1) },
  { name: 'generator convT 64->32, 7x7 -> 14x14, 4x4 s2 p1', via: 'oneDNN (as a convolution gradient)', input: [64, 64, 7, 7], weight: [64, 32, 4, 4], op: (x, w) => tg.F.convTranspose2d(x, w!, null, S2P1) },
  { name: 'generator convT 32->1, 14x14 -> 28x28, 4x4 s2 p1', via: 'input gradient by im2col', input: [64, 32, 14, 14], weight: [32, 1, 4, 4], op: (x, w) => tg.F.convTranspose2d(x, w!, null, S2P1) },
  // no weight (weight: []): InstanceNorm2d's default, without an affine part
  { name: 'critic InstanceNorm2d(64), 7x7', via: 'fused rows', input: [64, 64, 7, 7], weight: [], op: (x) => tg.F.instanceNorm(x) },
  { name: 'critic InstanceNorm2d(64, affine), 7x7', via: 'fused rows + addcmul', input: [64, 64, 7, 7], weight: [64], op: (x, w) => tg.F.instanceNorm(x, { weight: w!, bias: w! }) },
  { name: 'critic InstanceNorm2d(128), 4x4', via: 'fused rows', input: [64, 128, 4, 4], weight: [], op: (x) => tg.F.instanceNorm(x) },
  { name: 'generator InstanceNorm2d(32), 14x14', via: 'fused rows', input: [64, 32, 14, 14], weight: [], op: (x) => tg.F.instanceNorm(x) },
  { name: 'critic LeakyReLU(0.2), 32x14x14', via: 'no zero input gradient', input: [64, 32, 14, 14], weight: [], op: (x) => tg.F.leakyRelu(x, 0.2) },
  { name: 'critic LeakyReLU(0.2), 128x4x4', via: 'no zero input gradient', input: [64, 128, 4, 4], weight: [], op: (x) => tg.F.leakyRelu(x, 0.2) },
];

type Phase = 'forward' | 'backward' | 'double';
const PHASES: Phase[] = ['forward', 'backward', 'double'];

function runPhase(c: Case, x: Tensor, w: Tensor | null, phase: Phase): void {
  tg.tidy(() => {
    if (phase === 'forward') {
      tg.noGrad(() => c.op(x, w));
      return;
    }
    const y = c.op(x, w);
    if (phase === 'backward') {
      autograd.grad(y.square().sum(), w ? [x, w] : [x]);
      return;
    }
    // y.sum() has a zero input gradient through a normalisation: weight the outputs instead
    const [gx] = autograd.grad(y.mul(y.detach()).sum(), [x], { createGraph: true }) as Tensor[];
    // (a LeakyReLU's input gradient is piecewise constant in its input: allowUnused)
    autograd.grad(gx.square().sum(), [w ?? x], { allowUnused: true });
  });
}

function timeIt(n: number, body: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) body();
  return Number(process.hrtime.bigint() - t0) / n / 1000;
}

function main(): void {
  const f = parseFlags(process.argv.slice(2));
  checkFlags(f, ['repeats', 'n', 'threads', 'only', 'help']);
  if (f.has('help')) {
    console.log('Usage: npx tsx bench/kernels.ts [--repeats 7] [--n 20] [--threads N] [--only TEXT (cases whose name or substitution contains it)]');
    return;
  }
  const int = (k: string, d: number): number => positiveIntFlag(f, k, d);
  const repeats = int('repeats', 7);
  const n = int('n', 20);
  tg.setNumThreads(int('threads', cores()));
  const d = tg.diagnostics();
  console.log(`libtorch ${d.libtorch.version}, ${tg.getNumThreads()} thread(s), OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? ''}`);
  console.log(`on = every substitution (setFastKernels('all')); this libtorch's defaults: ${d.fastKernelList.join(', ') || 'none'}`);
  console.log(`best of ${repeats} repeats of ${n} calls, µs per call; off = libtorch's own kernel (what PyTorch runs)\n`);
  tg.manualSeed(0);
  const rows: string[][] = [];
  const only = f.get('only');
  const cases = typeof only === 'string' ? CASES.filter((c) => c.name.includes(only) || c.via.includes(only)) : CASES;
  if (cases.length === 0) throw new Error(`--only '${String(only)}' matches no case (${CASES.map((c) => c.name).join('; ')})`);
  for (const c of cases) {
    const x = tg.randn(c.input).requiresGrad_(true);
    const w = c.weight.length === 0 ? null : tg.randn(c.weight).mul(0.05).detach().requiresGrad_(true);
    for (const phase of PHASES) {
      const best = { on: Infinity, off: Infinity };
      for (const mode of ['on', 'off'] as const) {
        tg.setFastKernels(mode === 'on' ? 'all' : false);
        for (let i = 0; i < 3; i++) runPhase(c, x, w, phase); // warm-up (oneDNN primitive creation)
      }
      for (let r = 0; r < repeats; r++) {
        for (const mode of ['on', 'off'] as const) {
          tg.setFastKernels(mode === 'on' ? 'all' : false);
          best[mode] = Math.min(best[mode], timeIt(n, () => runPhase(c, x, w, phase)));
        }
      }
      tg.setFastKernels(true);
      rows.push([c.name, c.via, phase, fmt(best.off, 0), fmt(best.on, 0), fmt(best.off / best.on, 2) + 'x']);
    }
    x.dispose();
    w?.dispose();
  }
  console.log(table(['op', 'substitution', 'measured', 'off (libtorch) µs', 'on (torch-gan) µs', 'speed-up'], rows));
}

main();
