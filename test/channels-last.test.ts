// Channels-last (NHWC) tensors and modules (issue #17): the layout changes, nothing else does.
// Each computation runs twice from the same values, once on NCHW tensors and once on their
// channels-last copies (and channels-last weights), with torch-gan's CPU kernel substitutions
// on (setFastKernels('all'), every one of them on any libtorch) and off (libtorch's own kernels),
// and the results must agree to float32 rounding. Where the output's layout tells whether the
// NHWC path really ran (a convolution of channels-last tensors gives a channels-last result in
// oneDNN; a substitution that silently made its inputs NCHW would not), that is asserted too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { Module } from '../lib/nn/module';
import { gradientPenalty } from '../lib/gan/penalties';
import { dcganCritic, dcganGenerator } from '../lib/gan';
import { saveSafetensors, loadSafetensors } from '../lib/io/safetensors';
import { torchError } from './helpers/errors';
import { trainWganGpF64 } from './helpers/train-f64';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); tg.setFastKernels(true); });

const KERNELS = [['substitutions on', 'all'], ['substitutions off', false]] as const;

function maxRelDiff(a: Tensor, b: Tensor): number {
  return tg.tidy(() => a.sub(b).abs().max().item() / Math.max(b.abs().max().item(), 1e-6));
}

function assertClose(label: string, a: Tensor[], b: Tensor[], tol: number): void {
  assert.is(a.length, b.length, `${label}: as many results`);
  a.forEach((t, i) => {
    assert.equal(t.shape, b[i].shape, `${label}[${i}] shape`);
    const d = maxRelDiff(t, b[i]);
    assert.ok(d <= tol, `${label}[${i}]: channels-last and NCHW differ by ${d} (relative), tolerance ${tol}`);
  });
}

const cl = (t: Tensor): Tensor => t.contiguous('channelsLast');

// ---------------------------------------------------------------- the tensor API

test("contiguous('channelsLast') lays the same values out NHWC; contiguous() lays them back", () => {
  tg.tidy(() => {
    const x = tg.randn([2, 3, 4, 5]);
    const y = cl(x);
    assert.ok(y.isContiguous('channelsLast'), 'channels-last');
    assert.not.ok(y.isContiguous(), 'no longer row-major NCHW');
    assert.ok(x.isContiguous() && !x.isContiguous('channelsLast'), 'the source is NCHW');
    // independent of isContiguous: memory in N, H, W, C order is exactly a row-major [N, H, W, C]
    assert.ok(y.permute(0, 2, 3, 1).isContiguous(), 'the permuted view to [N, H, W, C] is row-major');
    assert.is(y.suggestMemoryFormat(), 'channelsLast');
    assert.is(x.suggestMemoryFormat(), 'contiguous');
    assert.equal(y.shape, [2, 3, 4, 5]);
    assert.equal(Array.from(y.data() as Float32Array), Array.from(x.data() as Float32Array), 'data() reads logical (row-major) order');
    const back = y.contiguous();
    assert.ok(back.isContiguous(), 'contiguous() makes it NCHW again');
    assert.equal(back.toArray(), x.toArray());
  });
});

test('memoryFormat: anything but the two names, or channelsLast of a tensor not 4-D, is refused naming the parameter', () => {
  tg.tidy(() => {
    const x = tg.randn([2, 3, 4, 5]);
    for (const bad of ['channels_last', 'nhwc', 3] as unknown[]) {
      const e = torchError(() => x.contiguous(bad as 'channelsLast'));
      assert.is(e.parameter, 'memoryFormat');
      assert.match(e.expected ?? '', /'contiguous' or 'channelsLast'/);
      assert.is(torchError(() => x.isContiguous(bad as 'channelsLast')).parameter, 'memoryFormat');
    }
    const e = torchError(() => tg.randn([2, 3, 4]).contiguous('channelsLast'));
    assert.is(e.parameter, 'memoryFormat');
    assert.match(e.received ?? '', /\[2, 3, 4\]|2, 3, 4/);
    assert.not.ok(tg.randn([2, 3, 4]).isContiguous('channelsLast'), 'a 3-D tensor is never channels-last');
  });
});

test("module.toMemoryFormat('channelsLast') relays every 4-D parameter and buffer, keeps the rest and every value", () => {
  tg.manualSeed(1);
  const G = dcganGenerator({ normalization: 'batch' });
  const before = Object.fromEntries(Object.entries(G.stateDict()).map(([k, t]) => [k, t.toArray()]));
  const objects = new Map(Object.entries(G.stateDict()));
  assert.is(G.toMemoryFormat('channelsLast'), G, 'returns the module');
  let relaid = 0;
  for (const [k, t] of Object.entries(G.stateDict())) {
    assert.equal(t.toArray(), before[k], `${k}: same values`);
    if (t.ndim === 4) {
      assert.ok(t.isContiguous('channelsLast'), `${k} is channels-last`);
      if (t !== objects.get(k)) relaid++;
    } else {
      assert.ok(t === objects.get(k), `${k} (${t.ndim}-D) is the same tensor object`);
    }
  }
  assert.ok(relaid >= 3, `the multi-channel transposed convolutions' weights were relaid (${relaid})`);
  assert.ok(G.parameters().every((p) => p.requiresGrad && p.isLeaf), 'parameters stay trainable leaves');
  G.toMemoryFormat('contiguous');
  for (const [k, t] of Object.entries(G.stateDict())) {
    assert.ok(t.isContiguous(), `${k} is NCHW again`);
    assert.equal(t.toArray(), before[k], `${k}: same values after the round trip`);
  }
  const e = torchError(() => G.toMemoryFormat('nhwc' as 'channelsLast'));
  assert.is(e.parameter, 'memoryFormat');
  G.dispose();
});

// ---------------------------------------------------------------- ops: forward, backward, double backward

/**
 * Runs fn on NCHW inputs and on their channels-last copies; returns both results (kept). fn gets
 * the inputs made requiring grad; its results are compared, and their layouts checked by check.
 */
function bothLayouts(inputs: () => Tensor[], fn: (xs: Tensor[]) => Tensor[], kernels: boolean | 'all'): [Tensor[], Tensor[]] {
  tg.setFastKernels(kernels);
  try {
    const run = (relay: boolean): Tensor[] => tg.tidy(() => {
      tg.manualSeed(11);
      const xs = inputs().map((t) => (relay && t.ndim === 4 ? cl(t) : t).detach().requiresGrad_(true));
      if (relay) xs.filter((t) => t.ndim === 4 && t.shape[1] > 1).forEach((t) => assert.ok(t.isContiguous('channelsLast')));
      return fn(xs).map((t) => tg.keep(t.detach()));
    });
    return [run(false), run(true)];
  } finally {
    tg.setFastKernels(true);
  }
}

/** y, its input gradients, and the gradients of a penalty on them (create_graph), as a gradient penalty takes. */
function withGradients(y: Tensor, xs: Tensor[]): Tensor[] {
  // drawn as NCHW: randnLike(y) of a channels-last y fills its memory in NHWC order, other values for the same seed
  const gy = tg.randn(y.shape);
  const grads = tg.autograd.grad(y.mul(gy).sum(), xs, { createGraph: true }) as Tensor[];
  const penalty = grads.reduce((s, g) => s.add(g.square().sum()), tg.scalarTensor(0));
  // (a bias's gradient depends on nothing: no second-order gradient reaches it)
  const second = (tg.autograd.grad(penalty, xs, { allowUnused: true }) as (Tensor | null)[]).filter((g): g is Tensor => g !== null);
  return [y, ...grads, ...second];
}

const convCases = [
  { name: '1 -> 32 channels, 4x4 stride 2 (a critic\'s first layer)', x: [4, 1, 28, 28], w: [32, 1, 4, 4], o: { stride: 2, padding: 1 } },
  { name: '32 -> 64 channels, 4x4 stride 2 (a critic\'s second layer)', x: [4, 32, 14, 14], w: [64, 32, 4, 4], o: { stride: 2, padding: 1 } },
  { name: '3 -> 8 channels, 3x3, bias', x: [3, 3, 9, 9], w: [8, 3, 3, 3], o: { padding: 1 }, bias: true },
  { name: '128 -> 1, kernel = input (a critic\'s last layer)', x: [4, 128, 4, 4], w: [1, 128, 4, 4], o: {} },
];

for (const c of convCases) {
  for (const [kname, kernels] of KERNELS) {
    test(`conv2d ${c.name}, ${kname}: channels-last equals NCHW (forward, gradients, gradients of gradients)`, () => {
      const [nchw, nhwc] = bothLayouts(
        () => [tg.randn(c.x), tg.randn(c.w).mul(0.1), ...(c.bias ? [tg.randn([c.w[0]])] : [])],
        ([x, w, b]) => withGradients(tg.F.conv2d(x, w, b ?? null, c.o), b ? [x, w, b] : [x, w]),
        kernels,
      );
      assertClose(`conv2d ${c.name} ${kname}`, nhwc, nchw, 1e-5);
      // (with one input channel the input and weight are NCHW and NHWC alike: libtorch then picks NCHW)
      if (c.w[1] > 1 && c.x[2] > c.w[2]) assert.ok(nhwc[0].isContiguous('channelsLast'), 'the convolution ran NHWC (its output is channels-last)');
      [...nchw, ...nhwc].forEach((t) => t.dispose());
    });
  }
}

const convTCases = [
  { name: '100 -> 128, 1x1 input (a generator\'s first layer)', x: [4, 100, 1, 1], w: [100, 128, 4, 4], o: {} },
  { name: '128 -> 64, 3x3 stride 2', x: [4, 128, 4, 4], w: [128, 64, 3, 3], o: { stride: 2, padding: 1 } },
  { name: '32 -> 1, 4x4 stride 2 (a generator\'s last layer)', x: [4, 32, 14, 14], w: [32, 1, 4, 4], o: { stride: 2, padding: 1 } },
  { name: '16 -> 3, 4x4 stride 2, bias', x: [2, 16, 7, 7], w: [16, 3, 4, 4], o: { stride: 2, padding: 1 }, bias: true },
];

for (const c of convTCases) {
  for (const [kname, kernels] of KERNELS) {
    test(`convTranspose2d ${c.name}, ${kname}: channels-last equals NCHW (forward, gradients, gradients of gradients)`, () => {
      const [nchw, nhwc] = bothLayouts(
        () => [tg.randn(c.x), tg.randn(c.w).mul(0.1), ...(c.bias ? [tg.randn([c.w[1]])] : [])],
        ([x, w, b]) => [
          ...withGradients(tg.F.convTranspose2d(x, w, b ?? null, c.o), b ? [x, w, b] : [x, w]),
          tg.noGrad(() => tg.F.convTranspose2d(x, w, b ?? null, c.o)), // sampling: no gradient recorded
        ],
        kernels,
      );
      assertClose(`convTranspose2d ${c.name} ${kname}`, nhwc, nchw, 1e-5);
      // libtorch 1.x's own transposed convolution (slow_conv_transpose2d) answers NCHW whatever it is given;
      // the substitution (a convolution's input gradient, by oneDNN) keeps NHWC
      if (kernels === 'all' && c.w[1] > 1 && c.x[2] > 1) assert.ok(nhwc[0].isContiguous('channelsLast'), 'the transposed convolution ran NHWC (its output is channels-last)');
      [...nchw, ...nhwc].forEach((t) => t.dispose());
    });
  }
}

for (const [kname, kernels] of KERNELS) {
  test(`instanceNorm (affine) and leakyRelu, ${kname}: channels-last equals NCHW (forward, gradients, gradients of gradients)`, () => {
    const [nchw, nhwc] = bothLayouts(
      () => [tg.randn([4, 64, 7, 7]).mul(2).add(1), tg.randn([64]), tg.randn([64])],
      ([x, w, b]) => withGradients(tg.F.leakyRelu(tg.F.instanceNorm(x, { weight: w, bias: b }), 0.2), [x, w, b]),
      kernels,
    );
    assertClose(`instanceNorm ${kname}`, nhwc, nchw, 1e-5);
    // the fused kernels read and write NHWC (no copy to NCHW rows): the output stays channels-last
    if (kernels === 'all') assert.ok(nhwc[0].isContiguous('channelsLast'), 'the fused instance norm kept NHWC');
    // the LeakyReLU substitution from 64k elements on
    const [a, b] = bothLayouts(() => [tg.randn([4, 32, 28, 28])], ([x]) => withGradients(tg.F.leakyRelu(x, 0.2), [x]), kernels);
    assertClose(`leakyRelu ${kname}`, b, a, 1e-6);
    [...nchw, ...nhwc, ...a, ...b].forEach((t) => t.dispose());
  });
}

test('instanceNorm (fused, NHWC): third-order gradients equal the NCHW ones (float64)', () => {
  // the recorded double backward runs as ATen ops reducing over the maps, on either layout
  const [nchw, nhwc] = bothLayouts(
    () => [tg.randn([3, 6, 5, 4], { dtype: 'float64' }).mul(2).add(0.5)],
    ([x]) => {
      const [g1] = tg.autograd.grad(tg.F.instanceNorm(x).square().sum(), [x], { createGraph: true }) as Tensor[];
      const [g2] = tg.autograd.grad(g1.square().sum(), [x], { createGraph: true }) as Tensor[];
      return tg.autograd.grad(g2.mul(x).sum(), [x]) as Tensor[];
    },
    'all',
  );
  assertClose('third order', nhwc, nchw, 1e-10);
  [...nchw, ...nhwc].forEach((t) => t.dispose());
});

// ---------------------------------------------------------------- the gradient penalty

function pairOfCritics(normalization: 'instance' | 'layer'): [Module, Module] {
  const make = () => {
    tg.manualSeed(5);
    return dcganCritic({ loss: 'wgan-gp', normalization, channels: 3 });
  };
  return [make(), make().toMemoryFormat('channelsLast')];
}

for (const normalization of ['instance', 'layer'] as const) {
  for (const [kname, kernels] of KERNELS) {
    test(`WGAN-GP penalty, ${normalization} norm critic, ${kname}: channels-last critic and batches give NCHW's penalty and gradients`, () => {
      const critics = pairOfCritics(normalization);
      tg.setFastKernels(kernels);
      try {
        const [real, fake] = tg.tidy(() => [tg.keep(tg.randn([6, 3, 28, 28])), tg.keep(tg.randn([6, 3, 28, 28]).tanh())]);
        const out = critics.map((D, i) => tg.tidy(() => {
          const r = i ? cl(real) : real, f = i ? cl(fake) : fake;
          tg.manualSeed(9); // the same interpolation coefficients
          const { penalty, gradNorms } = gradientPenalty(D as never, r, f, { lambda: 10 });
          D.zeroGrad();
          penalty.backward();
          return [penalty, gradNorms, ...D.parameters().map((p) => p.grad as Tensor)].map((t) => tg.keep(t.detach()));
        }));
        assert.ok(critics[1].parameters().some((p) => p.ndim === 4 && !p.isContiguous()), 'the second critic really is channels-last');
        assertClose(`penalty ${normalization} ${kname}`, out[1], out[0], 2e-5);
        [real, fake, ...out.flat()].forEach((t) => t.dispose());
      } finally {
        tg.setFastKernels(true);
        critics.forEach((c) => c.dispose());
      }
    });
  }
}

// ---------------------------------------------------------------- saving and loading

test("a channels-last module's safetensors file is byte for byte the NCHW one's, and loading keeps channels-last", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-channels-last-'));
  try {
    tg.manualSeed(2);
    const G = dcganGenerator({ normalization: 'instance', channels: 3 });
    const nchwFile = path.join(dir, 'nchw.safetensors');
    const clFile = path.join(dir, 'cl.safetensors');
    saveSafetensors(nchwFile, G.stateDict());
    G.toMemoryFormat('channelsLast');
    assert.ok(G.parameters().some((p) => p.ndim === 4 && !p.isContiguous()), 'some weight is laid out otherwise than NCHW');
    saveSafetensors(clFile, G.stateDict());
    assert.ok(fs.readFileSync(clFile).equals(fs.readFileSync(nchwFile)), 'the same bytes');

    // load different values (another seed) into the channels-last module, then the saved ones back
    tg.manualSeed(3);
    const other = dcganGenerator({ normalization: 'instance', channels: 3 });
    const objects = G.parameters();
    G.loadStateDict(other.stateDict());
    const loaded = loadSafetensors(nchwFile);
    G.loadStateDict(loaded);
    G.parameters().forEach((p, i) => {
      assert.ok(p === objects[i], 'the same parameter objects');
      if (p.ndim === 4) assert.ok(p.isContiguous('channelsLast'), 'still channels-last after loading NCHW values');
    });
    for (const [k, t] of Object.entries(G.stateDict())) assert.equal(t.toArray(), loaded[k].toArray(), `${k}: the saved values`);
    Object.values(loaded).forEach((t) => t.dispose());
    other.dispose();
    G.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- training
// In float64: the NHWC kernels (oneDNN's, the fused instance norm's) sum in another order than
// the NCHW ones, and in float32 Adam's first steps (about lr·sign(g)) turn the rounding of
// near-zero gradients into different weights, so a few steps apart the two runs differ by more
// than any fixed float32 tolerance. In float64 the layouts must give the same training to 1e-9.

for (const [kname, kernels] of KERNELS) {
  test(`5 GanTrainer WGAN-GP steps, ${kname}: channels-last models and batches train as NCHW ones do`, () => {
    const steps = 5, nCritic = 2, batch = 8;
    const batches = tg.tidy(() => Array.from({ length: steps * nCritic }, () => tg.keep(tg.randn([batch, 3, 28, 28], { dtype: 'float64' }).tanh())));
    const train = (relay: boolean) => trainWganGpF64({
      batches, steps, nCritic, channels: 3, channelsLast: relay,
      check: (D) => {
        if (relay) assert.ok(D.parameters().some((p) => p.ndim === 4 && !p.isContiguous() && p.isContiguous('channelsLast')), 'the critic is still channels-last after the optimizer steps');
      },
    });
    tg.setFastKernels(kernels);
    try {
      const a = train(false);
      const b = train(true);
      a.stats.forEach((s, i) => {
        for (const k of ['criticLoss', 'generatorLoss', 'penalty', 'gradNorm'] as const) {
          const x = b.stats[i][k], y = s[k];
          assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y)), `step ${i} ${k}: channels-last ${x}, NCHW ${y}`);
        }
      });
      assertClose(`weights after ${steps} steps ${kname}`, b.weights, a.weights, 1e-9);
      [...a.weights, ...b.weights].forEach((t) => t.dispose());
    } finally {
      tg.setFastKernels(true);
      batches.forEach((t) => t.dispose());
    }
  });
}

test.run();
