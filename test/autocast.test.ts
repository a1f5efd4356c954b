// autocast(fn): CPU mixed precision. Inside a region convolutions and matrix products give
// bfloat16, outside float32; the state comes back after a throw; regions nest (an inner
// enabled: false is a float32 island) and only the outermost exit clears the weight-cast cache
// (seen as a stale cast: a weight changed in place inside a region is read from its cached copy).
// Every CPU kernel substitution of torch-gan's gives the dtype PyTorch's own autocast gives on
// this libtorch (test/fixtures/autocast.json, scripts/fixtures/make_autocast_fixtures.py) and the
// values of libtorch's op (substitutions off).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { autocast, autocastDtype, grad, isAutocastEnabled, noGrad } from '../lib/autograd';
import * as F from '../lib/nn/functional';
import { diagnostics } from '../lib/diagnostics';
import { isTorchError, torchError } from './helpers/errors';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); tg.setFastKernels(true); });

const major = Number(diagnostics().libtorch.version.split('.')[0]);
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'autocast.json'), 'utf8'));
/** PyTorch's own autocast dtypes on this libtorch's major version (the 2.13 table stands for any 2.x) */
const pytorchDtypes: Record<string, string> = fixture[`torch${major >= 2 ? 2 : 1}`].dtypes;

const bf = { dtype: 'bfloat16' } as const;
const x = () => tg.randn([2, 1, 8, 8]);
const w = () => tg.randn([4, 1, 4, 4]);

test('inside autocast conv2d, linear and matmul give bfloat16; outside float32; isAutocastEnabled / autocastDtype say so', () => {
  tg.manualSeed(1);
  const a = x(), k = w();
  assert.is(isAutocastEnabled(), false);
  const inside = autocast(() => {
    assert.is(isAutocastEnabled(), true);
    assert.is(autocastDtype(), 'bfloat16');
    return [F.conv2d(a, k, null, { stride: 2, padding: 1 }), F.linear(tg.randn([3, 4]), tg.randn([2, 4])), tg.randn([3, 4]).matmul(tg.randn([4, 2]))];
  }, bf);
  for (const t of inside) assert.is(t.dtype, 'bfloat16');
  assert.is(isAutocastEnabled(), false);
  assert.is(F.conv2d(a, k, null, { stride: 2, padding: 1 }).dtype, 'float32');
  // the bf16 product is the float32 one rounded: close, not equal
  const plain = F.conv2d(a, k, null, { stride: 2, padding: 1 });
  const d = inside[0].float().sub(plain).abs().max().item();
  assert.ok(d > 0 && d < 0.05 * plain.abs().max().item(), `|bf16 - fp32| = ${d}`);
});

test('the previous state comes back after fn throws, and a Promise is refused (the state would leak across awaits)', () => {
  assert.throws(() => autocast(() => { throw new Error('boom'); }), /boom/);
  assert.is(isAutocastEnabled(), false);
  autocast(() => {
    assert.throws(() => autocast(() => { throw new Error('inner'); }, { enabled: false }), /inner/);
    assert.is(isAutocastEnabled(), true, 'the outer region is on again after the inner one threw');
  });
  assert.throws(() => autocast(() => Promise.resolve(1)), isTorchError('ERR_INVALID_ARG', /synchronous/));
  assert.is(isAutocastEnabled(), false);
});

test('regions nest: an inner enabled: false region is float32, the outer one is bfloat16 again after it', () => {
  const a = x(), k = w();
  autocast(() => {
    assert.is(F.conv2d(a, k).dtype, 'bfloat16');
    autocast(() => {
      assert.is(isAutocastEnabled(), false);
      assert.is(F.conv2d(a, k).dtype, 'float32');
    }, { enabled: false });
    assert.is(F.conv2d(a, k).dtype, 'bfloat16');
  });
  assert.is(isAutocastEnabled(), false);
});

test('the weight-cast cache lives until the OUTERMOST region ends: a weight changed in place inside is read from its cached cast', () => {
  tg.manualSeed(2);
  const a = x();
  const k = w().requiresGrad_(true); // autocast caches casts of leaves that require grad (weights)
  const double = () => noGrad(() => { k.mul_(2); });
  const before = autocast(() => {
    const y0 = F.conv2d(a, k).float();
    autocast(() => F.conv2d(a, k)); // an inner region ends: the cache must survive it
    double();
    const y1 = F.conv2d(a, k).float(); // the cached (old) cast
    assert.equal(y1.toArray(), y0.toArray(), 'inside one region the stale cast is used (as PyTorch)');
    return y0;
  });
  const after = autocast(() => F.conv2d(a, k).float()); // a new region casts the doubled weight
  const ratio = after.div(before);
  const finite = (ratio.toArray() as number[]).filter((v, i) => Math.abs(before.toArray()[i] as number) > 0.1);
  assert.ok(finite.length > 0 && finite.every((v) => Math.abs(v - 2) < 0.02), 'the outermost exit cleared the cache');
});

test('bad options are refused naming the option: float16 on the CPU, an unknown device, a non-boolean enabled, a stray key', () => {
  let e = torchError(() => autocast(() => 1, { dtype: 'float16' }));
  assert.is(e.parameter, 'autocast() options.dtype');
  assert.match(e.expected!, /'bfloat16'/);
  assert.match(e.received!, /float16/);
  e = torchError(() => autocast(() => 1, { device: 'tpu' as never }));
  assert.is(e.parameter, 'autocast() options.device');
  e = torchError(() => autocast(() => 1, { enabled: 1 as never }));
  assert.is(e.parameter, 'autocast() options.enabled');
  assert.throws(() => autocast(() => 1, { dtype: 'bfloat16', cache: true } as never), isTorchError('ERR_INVALID_ARG', /cache/));
  assert.is(isAutocastEnabled(), false, 'a refused region never started');
  if (!diagnostics().libtorch.cudaCompiled) {
    // a CPU-only addon has no CUDA autocast to set: refused by the binding, naming the device
    e = torchError(() => autocast(() => 1, { device: 'cuda' }));
    assert.match(e.message, /CPU-only/);
    assert.is(isAutocastEnabled('cpu'), false);
  }
});

test('the state is per thread: a worker thread starts with autocast off while the main thread is inside a region, and its region leaves the main thread\'s alone', async () => {
  // the main thread blocks (Atomics.wait) inside its region while the worker runs; results come through shared memory
  const shared = new Int32Array(new SharedArrayBuffer(16)); // [done, worker saw autocast on at start, its conv's dtype was bf16, its state after]
  const root = path.join(__dirname, '..');
  let worker: Worker | undefined;
  const exited = new Promise<number>((resolve) => {
    autocast(() => {
      worker = new Worker(
        `require('tsx/cjs'); const tg = require(${JSON.stringify(path.join(root, 'lib'))});
         const { workerData } = require('worker_threads'); const s = new Int32Array(workerData);
         s[1] = tg.autograd.isAutocastEnabled() ? 1 : 0;
         const y = tg.autocast(() => tg.F.conv2d(tg.randn([1, 1, 4, 4]), tg.randn([2, 1, 3, 3])));
         s[2] = y.dtype === 'bfloat16' ? 1 : 0;
         s[3] = tg.autograd.isAutocastEnabled() ? 1 : 0;
         Atomics.store(s, 0, 1); Atomics.notify(s, 0);`,
        { eval: true, workerData: shared.buffer },
      );
      assert.is(Atomics.wait(shared, 0, 0, 60_000), 'ok', 'the worker finished within 60 s');
      assert.is(isAutocastEnabled(), true, "the worker's region left the main thread's on");
      assert.is(F.conv2d(x(), w()).dtype, 'bfloat16');
    });
    worker!.once('exit', resolve);
  });
  assert.is(await exited, 0);
  assert.equal([...shared.slice(1)], [0, 1, 0], 'the worker: off at start, bf16 in its own region, off after it');
  assert.is(isAutocastEnabled(), false);
});

// ---------------------------------------------------------------- kernel substitutions under autocast

// [what, the op]: each shape takes a different path of cpu_kernels.cc when the substitutions are on
const convCases: [string, string, () => Tensor][] = [
  ['conv2d, 1 input channel (im2col input gradient, own backward)', 'conv2d', () => F.conv2d(tg.randn([2, 1, 8, 8]).requiresGrad_(true), tg.randn([4, 1, 4, 4]).requiresGrad_(true), null, { stride: 2, padding: 1 })],
  ['conv2d over the whole input (a matrix product)', 'conv2d', () => F.conv2d(tg.randn([2, 6, 4, 4]).requiresGrad_(true), tg.randn([3, 6, 4, 4]).requiresGrad_(true), tg.randn([3]).requiresGrad_(true))],
  ['conv2d, 4 input channels with a bias', 'conv2d', () => F.conv2d(tg.randn([2, 4, 8, 8]).requiresGrad_(true), tg.randn([5, 4, 3, 3]).requiresGrad_(true), tg.randn([5]).requiresGrad_(true), { padding: 1 })],
  ['convTranspose2d of a 1x1 input (a matrix product) with a bias', 'conv_transpose2d', () => F.convTranspose2d(tg.randn([2, 8, 1, 1]).requiresGrad_(true), tg.randn([8, 4, 4, 4]).requiresGrad_(true), tg.randn([4]).requiresGrad_(true))],
  ['convTranspose2d, stride 2 (as a convolution gradient)', 'conv_transpose2d', () => F.convTranspose2d(tg.randn([2, 4, 4, 4]).requiresGrad_(true), tg.randn([4, 2, 4, 4]).requiresGrad_(true), null, { stride: 2, padding: 1 })],
  ['convTranspose2d, stride 2, no gradient recorded', 'conv_transpose2d', () => F.convTranspose2d(tg.randn([2, 4, 4, 4]), tg.randn([4, 2, 4, 4]), null, { stride: 2, padding: 1 })],
];

/** y = op() under autocast (as float32) and its dtype. */
function underAutocast(op: () => Tensor, seed: number) {
  tg.manualSeed(seed);
  return autocast(() => {
    const y = op();
    return { y: y.float(), dtype: y.dtype };
  });
}

for (const [what, op, make] of convCases) {
  test(`under autocast, ${what}: PyTorch's dtype on this libtorch (${pytorchDtypes[op]}), and with the substitutions on the values of libtorch's op`, () => {
    tg.setFastKernels(true);
    const on = underAutocast(make, 5);
    tg.setFastKernels(false);
    const off = underAutocast(make, 5);
    tg.setFastKernels(true);
    assert.is(on.dtype, pytorchDtypes[op], 'the dtype PyTorch gives');
    assert.is(off.dtype, on.dtype);
    const scale = Math.max(1, off.y.abs().max().item());
    const d = on.y.sub(off.y).abs().max().item();
    assert.ok(d <= 1e-2 * scale, `substituted vs libtorch's: max |diff| ${d} (scale ${scale})`);
  });
}

test('under autocast, gradients through the substituted convolutions (a penalty-style double backward) match libtorch\'s and come back float32', () => {
  const run = (fast: boolean) => {
    tg.setFastKernels(fast);
    tg.manualSeed(9);
    const xIn = tg.randn([2, 1, 8, 8]).requiresGrad_(true);
    const k1 = tg.randn([4, 1, 4, 4]).mul(0.3).requiresGrad_(true);
    const k2 = tg.randn([1, 4, 4, 4]).mul(0.3).requiresGrad_(true);
    const r = autocast(() => {
      const h = F.conv2d(xIn, k1, null, { stride: 2, padding: 1 }).leakyRelu(0.2);
      const out = F.conv2d(h, k2).float().sum();
      const [g] = grad(out, xIn, { createGraph: true });
      return g!;
    });
    const pen = r.square().sum();
    const [gk1] = grad(pen, k1);
    tg.setFastKernels(true);
    return { g: r, gk1: gk1! };
  };
  const on = run(true), off = run(false);
  assert.is(on.g.dtype, 'float32', "the input gradient is the input's dtype");
  assert.is(on.gk1.dtype, 'float32', "the weight gradient is the weight's dtype");
  for (const k of ['g', 'gk1'] as const) {
    const scale = Math.max(1e-3, off[k].abs().max().item());
    const d = on[k].sub(off[k]).abs().max().item();
    assert.ok(d <= 2e-2 * scale, `${k}: max |diff| ${d} (scale ${scale})`);
  }
});

test('under autocast, normalisations and activations of a bfloat16 activation keep PyTorch\'s dtypes (instance norm, layer norm with float32 affine, LeakyReLU)', () => {
  tg.manualSeed(3);
  autocast(() => {
    const y = F.conv2d(tg.randn([2, 1, 8, 8]), tg.randn([4, 1, 4, 4]), null, { stride: 2, padding: 1 });
    assert.is(y.dtype, 'bfloat16');
    assert.is(F.instanceNorm(y).dtype, pytorchDtypes['instance_norm(bf16)']);
    // PyTorch 1.13 refuses this one (its table says so); torch-gan computes it as 2.x does, in float32, and gives 2.x's dtype
    const ln = F.layerNorm(y, [4, 4, 4], tg.ones([4, 4, 4]).mul(1.5), tg.zeros([4, 4, 4]).add(0.1));
    assert.is(ln.dtype, 'bfloat16');
    const ref = F.layerNorm(y.float(), [4, 4, 4], tg.ones([4, 4, 4]).mul(1.5), tg.zeros([4, 4, 4]).add(0.1));
    assert.ok(ln.float().sub(ref).abs().max().item() < 0.05, 'layer norm of the bf16 activation: the float32 result, rounded');
    assert.is(y.leakyRelu(0.2).dtype, pytorchDtypes['leaky_relu(bf16)']);
  });
});

test.run();
