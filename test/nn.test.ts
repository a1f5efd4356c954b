// nn: Module bookkeeping, layers against PyTorch 1.13 (test/fixtures/nn_modules.json,
// made by scripts/fixtures/make_nn_fixtures.py), default and DCGAN initialisation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { modelA } from './helpers/models';
import * as tg from '../lib';
import { Tensor } from '../lib';
import fixture from './fixtures/nn_modules.json';

const { nn } = tg;

type Enc = { shape: number[]; dtype: string; data: number[] };
const fromEnc = (e: Enc): Tensor => tg.tensor(Float64Array.from(e.data), e.shape, { dtype: e.dtype === 'int64' ? 'int64' : 'float64' });

function close(actual: Tensor, expected: Enc, tol: number, what: string): void {
  assert.equal(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toArray();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - expected.data[i]));
  assert.ok(worst <= tol, `${what}: max abs error ${worst} > ${tol}`);
}


function loadedModelA() {
  const m = modelA().double();
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(fixture.model_a.state)) sd[k] = fromEnc(v as Enc);
  m.loadStateDict(sd);
  for (const t of Object.values(sd)) t.dispose();
  return m;
}

test('state dict keys, parameter names and print() equal PyTorch', () => {
  const m = modelA();
  assert.equal(Object.keys(m.stateDict()), fixture.model_a.keys);
  assert.equal(m.namedParameters().map(([n]) => n), fixture.model_a.namedParameters);
  assert.is(m.toString(), fixture.model_a.repr);
  assert.is(m.stateDict()['1.num_batches_tracked'].dtype, 'int64');
  assert.is(m.parameters().length, fixture.model_a.namedParameters.length);
  assert.is(m.buffers().length, 6);
  assert.is(m.children().length, 9);
  m.dispose();
});

test('model_a forward (train mode), running stats after it, and eval forward equal PyTorch', () => {
  const m = loadedModelA();
  const x = fromEnc(fixture.model_a.x as Enc);
  m.train();
  tg.tidy(() => close(m.call(x), fixture.model_a.yTrain as Enc, 1e-9, 'train output'));
  const sd = m.stateDict();
  for (const [k, v] of Object.entries(fixture.model_a.buffersAfterTrain)) {
    if (k.endsWith('num_batches_tracked')) assert.equal(sd[k].toArray(), (v as Enc).data, k);
    else close(sd[k], v as Enc, 1e-9, k);
  }
  m.eval();
  tg.tidy(() => close(m.call(x), fixture.model_a.yEval as Enc, 1e-9, 'eval output'));
  m.dispose();
});

test('Upsample (bilinear, nearest, size + alignCorners), GroupNorm, Unpool2d equal PyTorch', () => {
  const f = fixture.misc;
  const x = fromEnc(f.x as Enc);
  close(new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }).call(x), f.upsampleBilinear2x as Enc, 1e-12, 'bilinear x2');
  close(new nn.Upsample({ size: [5, 7], mode: 'bilinear', alignCorners: true }).call(x), f.upsampleBilinearSize57AlignCorners as Enc, 1e-12, 'bilinear size');
  close(new nn.Upsample({ scaleFactor: 2 }).call(x), f.upsampleNearest2x as Enc, 0, 'nearest x2');
  const gn = new nn.GroupNorm(2, 4, { dtype: 'float64' });
  gn.loadStateDict({ weight: fromEnc(f.groupNorm.weight as Enc), bias: fromEnc(f.groupNorm.bias as Enc) });
  close(gn.call(x), f.groupNorm.y as Enc, 1e-12, 'GroupNorm');
  assert.is(gn.toString(), f.groupNorm.repr);
  close(new nn.Unpool2d(2).call(x), f.unpoolZeros2 as Enc, 0, 'Unpool2d zeros');
  const rep = new nn.Unpool2d(2, { mode: 'replicate' }).call(x);
  assert.equal(rep.toArray(), f.upsampleNearest2x.data);
});

test('BatchNorm1d with momentum=null keeps a cumulative average, as PyTorch', () => {
  const f = fixture.misc.batchNorm1dCumulative;
  const bn = new nn.BatchNorm1d(3, { momentum: null, dtype: 'float64' });
  assert.is(bn.toString(), f.repr);
  for (const b of f.inputs) bn.call(fromEnc(b as Enc));
  close(bn.runningMean!, f.runningMean as Enc, 1e-12, 'running mean');
  close(bn.runningVar!, f.runningVar as Enc, 1e-12, 'running var');
  assert.is(bn.numBatchesTracked!.item(), f.numBatchesTracked);
  bn.eval();
  close(bn.call(fromEnc(f.inputs[0] as Enc)), f.yEval as Enc, 1e-12, 'eval output');
});

test('toString of the other layers matches PyTorch print()', () => {
  const m = new nn.Sequential(
    new nn.Upsample({ scaleFactor: 2 }),
    new nn.Upsample({ size: [4, 5], mode: 'bilinear' }),
    new nn.InstanceNorm2d(3),
    new nn.LayerNorm([3, 4]),
    new nn.Flatten(),
    new nn.Unflatten(1, [2, 3]),
    new nn.Dropout(),
    new nn.ReLU(),
    new nn.LeakyReLU(0.2),
    new nn.Linear(2, 3),
    new nn.Sequential(new nn.Sigmoid()),
  );
  assert.is(m.toString(), [
    'Sequential(',
    '  (0): Upsample(scale_factor=2.0, mode=nearest)',
    '  (1): Upsample(size=(4, 5), mode=bilinear)',
    '  (2): InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)',
    '  (3): LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)',
    '  (4): Flatten(start_dim=1, end_dim=-1)',
    '  (5): Unflatten(dim=1, unflattened_size=(2, 3))',
    '  (6): Dropout(p=0.5, inplace=False)',
    '  (7): ReLU()',
    '  (8): LeakyReLU(negative_slope=0.2)',
    '  (9): Linear(in_features=2, out_features=3, bias=True)',
    '  (10): Sequential(',
    '    (0): Sigmoid()',
    '  )',
    ')',
  ].join('\n'));
  assert.is(tg.nn.pyFloat(0.0002), '0.0002');
  assert.is(tg.nn.pyFloat(1e16), '1e+16');
  assert.is(tg.nn.pyFloat(3), '3.0');
  m.dispose();
});

test('loadStateDict: missing, unexpected and mis-shaped keys are named; nothing is copied on error', () => {
  const m = modelA();
  const sd = m.stateDict();
  const good: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sd)) good[k] = v.clone();
  const before = sd['0.weight'].toArray();

  const missing = { ...good };
  delete missing['8.bias'];
  assert.throws(() => m.loadStateDict(missing), /missing key\(s\): "8\.bias"/);

  const extra = { ...good, '9.weight': tg.zeros([1]) };
  assert.throws(() => m.loadStateDict(extra), /unexpected key\(s\): "9\.weight"/);

  const wrong = { ...good, '0.weight': tg.zeros([4, 2, 5, 5]) };
  let msg = '';
  try { m.loadStateDict(wrong); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, /size mismatch for "0\.weight": expected shape \[4, 2, 3, 3\].*received \[4, 2, 5, 5\]/);
  assert.equal(sd['0.weight'].toArray(), before, 'nothing copied');

  const r = m.loadStateDict(extra, { strict: false });
  assert.equal(r, { missingKeys: [], unexpectedKeys: ['9.weight'] });
  const r2 = m.loadStateDict(missing, { strict: false });
  assert.equal(r2.missingKeys, ['8.bias']);
  assert.throws(() => m.loadStateDict(good, { strcit: true } as never), /Unknown option 'strcit'/);
  m.dispose();
});

test('loadStateDict copies into the same Tensor objects, casting dtype', () => {
  const lin = new nn.Linear(2, 2);
  const w = lin.weight;
  lin.loadStateDict({ weight: tg.tensor([[1, 2], [3, 4]], { dtype: 'float64' }), bias: tg.tensor([5, 6]) });
  assert.ok(lin.weight === w);
  assert.is(lin.weight.dtype, 'float32');
  assert.equal(lin.weight.toArray(), [1, 2, 3, 4]);
  assert.ok(lin.weight.requiresGrad);
  assert.equal(lin.call(tg.tensor([[1, 1]])).toArray(), [8, 13]);
});

test('parameters and buffers survive tidy(); dispose() frees them all', () => {
  const before = tg.memory().tensors;
  const m = tg.tidy(() => {
    const net = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU());
    net.call(tg.randn([1, 1, 5, 5]));
    return net;
  });
  const live = tg.memory().tensors - before;
  assert.is(live, m.parameters().length + m.buffers().length);
  tg.tidy(() => {
    m.call(tg.randn([2, 1, 5, 5])).sum();
  });
  assert.is(tg.memory().tensors - before, live, 'forward in tidy leaks nothing');
  assert.ok(m.parameters().every((p) => !p.isDisposed));
  m.dispose();
  assert.is(tg.memory().tensors, before);
});

test('backward reaches every parameter; zeroGrad drops grads; requiresGrad_ freezes', () => {
  const m = modelA();
  tg.tidy(() => m.call(tg.randn([2, 2, 8, 8])).square().mean().backward());
  for (const [n, p] of m.namedParameters()) {
    const g = p.grad;
    assert.ok(g !== null, `${n} has a grad`);
    assert.equal(g!.shape, p.shape);
  }
  m.zeroGrad();
  assert.ok(m.parameters().every((p) => p.grad === null));
  m.requiresGrad_(false);
  assert.ok(m.parameters().every((p) => !p.requiresGrad));
  const y = m.call(tg.randn([2, 2, 8, 8]));
  assert.is(y.requiresGrad, false);
  m.requiresGrad_(true);
  m.dispose();
});

test('train()/eval() propagate; Dropout is the identity in eval mode', () => {
  const m = new nn.Sequential(new nn.Linear(4, 4), new nn.Sequential(new nn.Dropout(0.5)));
  m.eval();
  assert.ok(m.modules().every((c) => c.training === false));
  const x = tg.ones([8, 4]);
  const d = m.at(1) as tg.nn.Sequential;
  assert.equal(d.call(x).toArray(), x.toArray());
  m.train();
  assert.ok(m.modules().every((c) => c.training));
  const y = d.call(tg.ones([100, 100])).toArray();
  const zeros = y.filter((v) => v === 0).length;
  assert.ok(zeros > 4000 && zeros < 6000, `about half dropped (${zeros})`);
  assert.ok(y.every((v) => v === 0 || v === 2));
});

test('to(undefined, float64) casts floating tensors and keeps int64 buffers; same Tensor when unchanged', () => {
  const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
  const w0 = m.parameters()[0];
  m.to('cpu');
  assert.ok(m.parameters()[0] === w0, 'no-op move keeps the Tensor');
  m.double();
  assert.ok(w0.isDisposed, 'the replaced tensor is freed');
  assert.ok(m.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad && p.isLeaf));
  assert.is(m.stateDict()['1.num_batches_tracked'].dtype, 'int64');
  assert.is(m.stateDict()['1.running_mean'].dtype, 'float64');
  const y = m.call(tg.randn([4, 3], { dtype: 'float64' }));
  assert.is(y.dtype, 'float64');
  m.dispose();
});

test('PyTorch default initialisation: kaiming_uniform(a=sqrt(5)) weights, U(±1/sqrt(fan_in)) biases', () => {
  tg.manualSeed(0);
  const check = (w: Tensor, bound: number, what: string) => {
    const a = w.toArray();
    const maxAbs = Math.max(...a.map(Math.abs));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    assert.ok(maxAbs <= bound + 1e-7, `${what}: max |w| ${maxAbs} <= ${bound}`);
    // U(-b, b): sd b/sqrt(3); 4-sigma bands for the sample mean and sample std
    const sd = bound / Math.sqrt(3);
    const n = a.length;
    // P(max |w| < b * q) = q^n; q chosen so that this is 1e-4
    const q = 1e-4 ** (1 / n);
    assert.ok(maxAbs > q * bound, `${what}: max |w| ${maxAbs} close to ${bound}`);
    assert.ok(Math.abs(std - sd) < 4 * 0.45 * sd / Math.sqrt(n), `${what}: std ${std} ~ ${sd}`);
    assert.ok(Math.abs(mean) < 4 * sd / Math.sqrt(n), `${what}: mean ${mean} ~ 0`);
  };
  const lin = new nn.Linear(100, 200);
  check(lin.weight, 1 / Math.sqrt(100), 'Linear weight');
  check(lin.bias!, 1 / Math.sqrt(100), 'Linear bias');
  const conv = new nn.Conv2d(16, 64, 4);
  check(conv.weight, 1 / Math.sqrt(16 * 16), 'Conv2d weight');
  check(conv.bias!, 1 / Math.sqrt(16 * 16), 'Conv2d bias');
  // torch's fan_in for ConvTranspose2d is weight.size(1) * k * k = outChannels * 16
  const convT = new nn.ConvTranspose2d(64, 32, 4);
  assert.equal(convT.weight.shape, [64, 32, 4, 4]);
  check(convT.weight, 1 / Math.sqrt(32 * 16), 'ConvTranspose2d weight');
  check(convT.bias!, 1 / Math.sqrt(32 * 16), 'ConvTranspose2d bias');
  const bn = new nn.BatchNorm2d(5);
  assert.equal(bn.weight!.toArray(), [1, 1, 1, 1, 1]);
  assert.equal(bn.bias!.toArray(), [0, 0, 0, 0, 0]);
  assert.equal(bn.runningVar!.toArray(), [1, 1, 1, 1, 1]);
  for (const m of [lin, conv, convT, bn]) m.dispose();
});

test('init functions: xavier, kaiming normal, constants', () => {
  tg.manualSeed(1);
  const t = tg.empty([200, 300]);
  tg.nn.init.xavierUniform_(t);
  const bound = Math.sqrt(6 / 500);
  assert.ok(Math.max(...t.toArray().map(Math.abs)) <= bound);
  tg.nn.init.kaimingNormal_(t, { nonlinearity: 'relu' });
  const std = t.std().item();
  assert.ok(Math.abs(std - Math.SQRT2 / Math.sqrt(300)) < 0.01, `kaiming normal std ${std}`);
  tg.nn.init.ones_(t);
  assert.is(t.sum().item(), 60000);
  assert.is(tg.nn.init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
  assert.throws(() => tg.nn.init.calculateFanInAndFanOut(tg.zeros([3])), /fewer than 2 dimensions/);
});

test('dcganInit: N(0, 0.02) conv/linear weights, N(1, 0.02) norm weights, zero biases', () => {
  tg.manualSeed(2);
  const m = new nn.Sequential(
    new nn.ConvTranspose2d(100, 64, 4), new nn.BatchNorm2d(64), new nn.ReLU(),
    new nn.Conv2d(64, 64, 4), new nn.InstanceNorm2d(64, { affine: true }), new nn.Linear(64, 10),
  );
  tg.nn.dcganInit(m);
  const stats = (t: Tensor) => [t.mean().item(), t.std().item()];
  for (const i of [0, 3, 5]) {
    const layer = m.at(i) as tg.nn.Conv2d;
    const [mean, std] = stats(layer.weight);
    assert.ok(Math.abs(mean) < 0.002 && Math.abs(std - 0.02) < 0.002, `layer ${i}: mean ${mean} std ${std}`);
    assert.ok(layer.bias!.toArray().every((v) => v === 0));
  }
  for (const i of [1, 4]) {
    const layer = m.at(i) as tg.nn.BatchNorm2d;
    const [mean, std] = stats(layer.weight!);
    assert.ok(Math.abs(mean - 1) < 0.01 && Math.abs(std - 0.02) < 0.01, `norm ${i}: mean ${mean} std ${std}`);
    assert.ok(layer.bias!.toArray().every((v) => v === 0));
  }
  m.dispose();
});

test('constructor arguments are validated with clear errors', () => {
  assert.throws(() => new nn.Conv2d(0, 4, 3), /Expected a positive integer for inChannels but received number 0/);
  assert.throws(() => new nn.Linear(3.5, 2), /inFeatures/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { strid: 2 } as never), /Unknown option 'strid' for Conv2d\(\)/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { outputPadding: 1 } as never), /Unknown option 'outputPadding'/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /inChannels/);
  assert.throws(() => new nn.Conv2d(4, 4, [3, 0] as never), /kernelSize/);
  assert.throws(() => new nn.ConvTranspose2d(4, 4, 3, { stride: 2, outputPadding: 2 }), /outputPadding/);
  assert.throws(() => new nn.BatchNorm2d(-1), /numFeatures/);
  assert.throws(() => new nn.BatchNorm2d(3, { momentum: 2 }), /momentum/);
  assert.throws(() => new nn.GroupNorm(3, 4), /numChannels/);
  assert.throws(() => new nn.LayerNorm([]), /normalizedShape/);
  assert.throws(() => new nn.Upsample({}), /exactly one of size and scaleFactor/);
  assert.throws(() => new nn.Upsample({ scaleFactor: 2, mode: 'bicubic' as never }), /mode/);
  assert.throws(() => new nn.Dropout(1.5), /probability/);
  assert.throws(() => new nn.LeakyReLU(NaN), /negativeSlope/);
  assert.throws(() => new nn.Sequential({} as never), /modules\[0\]/);
  assert.throws(() => new nn.BatchNorm2d(3).call(tg.zeros([2, 3])), /expected 4D input \(got 2D input/);
  assert.throws(() => new nn.LayerNorm(4).call(tg.zeros([2, 3])), /does not end in normalizedShape \[4\]/);
});

test('custom modules: registration, nested names, duplicate names rejected', () => {
  class Block extends tg.nn.Module {
    readonly scale: Tensor;
    readonly net: tg.nn.Sequential;
    constructor() {
      super();
      this.scale = this.registerParameter('scale', tg.ones([1]));
      this.registerBuffer('steps', tg.zeros([], { dtype: 'int64' }));
      this.net = this.registerModule('network', new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2)));
    }
    forward(x: Tensor): Tensor {
      return this.net.call(x).mul(this.param('scale'));
    }
  }
  const b = new Block();
  assert.equal(Object.keys(b.stateDict()), [
    'scale', 'steps', 'network.0.weight', 'network.0.bias', 'network.1.weight', 'network.1.bias',
    'network.1.running_mean', 'network.1.running_var', 'network.1.num_batches_tracked',
  ]);
  assert.is(b.parameters().length, 5);
  assert.throws(() => b.registerParameter('scale', tg.ones([1])), /already used by a parameter/);
  assert.throws(() => b.registerModule('a.b', new nn.ReLU()), /without dots/);
  assert.equal(b.call(tg.randn([3, 2])).shape, [3, 2]);
  assert.is(b.toString().split('\n')[0], 'Block(');
  b.dispose();
});

test.run();
