// Generator EMA: the shadow after N updates equals the EMA of the parameter history computed
// here in plain JS (float64), with and without warm-up; buffers averaged / left alone / synced as
// documented; state-dict round trip; cloneModule's copy semantics; no tensor left behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Module } from '../lib/nn/module';
import { Sequential, Linear, BatchNorm1d, ReLU } from '../lib/nn/layers';
import { cloneModule } from '../lib/nn/clone';
import { spectralNorm } from '../lib/nn/spectral-norm';
import { GeneratorEma } from '../lib/gan/ema';
import { dcganGenerator } from '../lib/gan/models';
import { saveCheckpoint, loadCheckpoint } from '../lib/gan/checkpoint';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

const net = () => new Sequential(new Linear(3, 4, { dtype: 'float64' }), new BatchNorm1d(4, { dtype: 'float64' }), new ReLU(), new Linear(4, 2, { dtype: 'float64' }));
const snapshot = (m: Module, which: 'p' | 'b'): Record<string, number[]> =>
  Object.fromEntries((which === 'p' ? m.namedParameters() : m.namedBuffers()).map(([k, t]) => [k, t.toArray()]));

function closeRec(actual: Record<string, number[]>, expected: Record<string, number[]>, tol: number, what: string): void {
  assert.equal(Object.keys(actual), Object.keys(expected), `${what}: keys`);
  for (const k of Object.keys(expected)) {
    expected[k].forEach((e, i) => {
      const a = actual[k][i];
      if (!(Math.abs(a - e) <= tol)) assert.unreachable(`${what} ${k}[${i}]: ${a} vs ${e}`);
    });
  }
}

/** Sets every parameter and floating buffer of g to fresh random values (a stand-in for training). */
function perturb(g: Module): void {
  tg.noGrad(() => {
    for (const t of [...g.parameters(), ...g.buffers()]) {
      if (t.dtype === 'int64') t.add_(1);
      else t.copy_(tg.tidy(() => tg.randn(t.shape, { dtype: 'float64' }).mul(2)));
    }
  });
}

for (const warmup of [true, false]) {
  test(`after N updates the shadow is the EMA of the history (warmup ${warmup}), buffers averaged`, () => {
    tg.manualSeed(1);
    const g = net();
    const decay = 0.9;
    const ema = new GeneratorEma(g, { decay, warmup });
    // independent truth: e ← β e + (1 − β) θ in JS numbers, β per the documented formula
    const expP = snapshot(g, 'p');
    const expB = snapshot(g, 'b');
    const steps = 12;
    for (let step = 0; step < steps; step++) {
      perturb(g);
      const beta = warmup ? Math.min(decay, (1 + step) / (10 + step)) : decay;
      const p = snapshot(g, 'p');
      const b = snapshot(g, 'b');
      for (const k of Object.keys(expP)) expP[k] = expP[k].map((e, i) => beta * e + (1 - beta) * p[k][i]);
      for (const k of Object.keys(expB)) {
        expB[k] = k.endsWith('num_batches_tracked') ? b[k] : expB[k].map((e, i) => beta * e + (1 - beta) * b[k][i]);
      }
      assert.is(ema.update(step), beta, `β at step ${step}`);
    }
    closeRec(snapshot(ema.module, 'p'), expP, 1e-12, 'parameters');
    closeRec(snapshot(ema.module, 'b'), expB, 1e-12, 'buffers');
    assert.equal(ema.module.namedBuffers().find(([k]) => k === '1.num_batches_tracked')![1].toArray(), [steps], 'integer buffers copied');
    // the shadow is not the live model and does not train
    assert.ok(ema.module.parameters().every((t) => !t.requiresGrad));
    assert.ok(g.parameters().every((t) => t.requiresGrad));
    const first = ema.module.parameters()[0];
    assert.is.not(first, g.parameters()[0]);
    if (warmup) {
      assert.is(ema.decayAt(0), 0.1);
      assert.is(ema.decayAt(8), 0.5);
      assert.is(ema.decayAt(1000), 0.9);
    } else assert.is(ema.decayAt(0), 0.9);
  });
}

test('includeBuffers: false leaves the shadow\'s buffers at their construction values; syncBuffers copies them', () => {
  const g = net();
  const ema = new GeneratorEma(g, { decay: 0.5, includeBuffers: false });
  const b0 = snapshot(g, 'b');
  for (let s = 0; s < 3; s++) {
    perturb(g);
    ema.update(s);
  }
  closeRec(snapshot(ema.module, 'b'), b0, 0, 'buffers untouched');
  ema.syncBuffers();
  closeRec(snapshot(ema.module, 'b'), snapshot(g, 'b'), 0, 'buffers synced');
});

test('state dict: PyTorch keys of the generator; save and load restore the average; samples come from the shadow', () => {
  tg.manualSeed(2);
  const g = dcganGenerator({ baseWidth: 2, noiseDim: 4 });
  const ema = new GeneratorEma(g, { decay: 0.99 });
  assert.equal(Object.keys(ema.stateDict()), Object.keys(g.stateDict()));
  for (let s = 0; s < 3; s++) {
    tg.noGrad(() => g.parameters().forEach((p) => p.mul_(1.5)));
    ema.update(s);
  }
  const saved = Object.fromEntries(Object.entries(ema.stateDict()).map(([k, t]) => [k, t.clone()]));
  const other = new GeneratorEma(dcganGenerator({ baseWidth: 2, noiseDim: 4 }));
  other.loadStateDict(saved);
  closeRec(snapshot(other.module, 'p'), snapshot(ema.module, 'p'), 0, 'loaded');
  // the shadow samples differently from the live generator (it lags behind)
  const z = tg.randn([2, 4, 1, 1]);
  ema.module.eval();
  g.eval();
  const a = tg.noGrad(() => ema.module.forward(z) as Tensor).toArray();
  const b = tg.noGrad(() => g.forward(z) as Tensor).toArray();
  assert.ok(a.some((v, i) => Math.abs(v - b[i]) > 1e-4));
  // an explicit shadow is filled from the generator
  const mine = dcganGenerator({ baseWidth: 2, noiseDim: 4 });
  const e2 = new GeneratorEma(g, { shadow: mine });
  closeRec(snapshot(e2.module, 'p'), snapshot(g, 'p'), 0, 'explicit shadow');
  assert.throws(() => new GeneratorEma(g, { shadow: net() }), /generator's state-dict keys/);
});

test('checkpoints save the shadow as generator_ema.safetensors and load it back', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ema-'));
  try {
    const g = net();
    const ema = new GeneratorEma(g, { decay: 0.5 });
    perturb(g);
    ema.update(3);
    saveCheckpoint(root, { generator: g, generatorEma: ema.module }, { step: 1, config: {} });
    assert.ok(fs.existsSync(path.join(root, 'ckpt-00000001', 'generator_ema.safetensors')));
    const g2 = net();
    const ema2 = new GeneratorEma(g2);
    loadCheckpoint(root, { generator: g2, generatorEma: ema2.module }, { restoreRng: false });
    closeRec(snapshot(ema2.module, 'p'), snapshot(ema.module, 'p'), 0, 'shadow restored');
    closeRec(snapshot(g2, 'p'), snapshot(g, 'p'), 0, 'generator restored');
    saveCheckpoint(root, { generator: g }, { step: 2, config: {} });
    assert.throws(() => loadCheckpoint(root, { generator: g2, generatorEma: ema2.module }), /generator_ema.safetensors is missing/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('cloneModule: same class and values, its own tensors, shared ties kept, spectral norm per copy', () => {
  const lin = new Linear(2, 2, { dtype: 'float64' });
  const tied = new Sequential(lin, new ReLU(), lin);
  const c = cloneModule(tied);
  assert.ok(c instanceof Sequential);
  assert.is(c.toString(), tied.toString());
  assert.is(c.at(0), c.at(2), 'a module reachable twice stays shared in the copy');
  assert.is.not(c.at(0), lin);
  assert.equal(c.at(0).param('weight').toArray(), lin.weight.toArray());
  tg.noGrad(() => lin.weight.add_(1));
  assert.ok(c.at(0).param('weight').toArray().every((v, i) => v !== lin.weight.toArray()[i]), 'independent storage');
  // spectral norm: the copy's forward normalises with its own u (and updates its own buffers)
  const sn = spectralNorm(new Linear(3, 2, { dtype: 'float64' }));
  const sc = cloneModule(sn);
  const x = tg.randn([4, 3], { dtype: 'float64' });
  const u0 = sn.buffer('weight_u').toArray();
  const y1 = tg.noGrad(() => sc.forward(x)).toArray();
  assert.equal(sn.buffer('weight_u').toArray(), u0, "the original's u is untouched by the copy's forward");
  assert.equal(tg.noGrad(() => sn.forward(x)).toArray(), y1, 'same result from the same state');
  class Holder extends Module { t = tg.zeros([1]); forward(v: Tensor) { return v; } }
  assert.throws(() => cloneModule(new Holder()), /Holder.t is a Tensor that is not a registered parameter or buffer/);
});

test('update() and the EMA allocate nothing that outlives them; dispose frees the shadow', () => {
  const g = net();
  const before0 = tg.memory().tensors;
  const ema = new GeneratorEma(g);
  const n = g.parameters().length + g.buffers().length;
  assert.is(tg.memory().tensors, before0 + n, 'the shadow holds one tensor per parameter and buffer');
  ema.update(0);
  const before = tg.memory().tensors;
  for (let s = 1; s < 5; s++) ema.update(s);
  ema.syncBuffers();
  assert.is(tg.memory().tensors, before, 'live tensors after updates');
  ema.dispose();
  assert.is(tg.memory().tensors, before0, 'after dispose');
  assert.throws(() => new GeneratorEma(g, { decay: 1.5 }), /number in \[0, 1\] for GeneratorEma\(\) options.decay/);
  assert.throws(() => new GeneratorEma(g, { beta: 0.9 } as never), /Unknown option 'beta'/);
  assert.throws(() => new GeneratorEma({} as never), /Module for generator/);
});

test.run();
