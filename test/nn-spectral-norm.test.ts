// Spectral normalisation against torch.nn.utils.spectral_norm (PyTorch 1.13, test/fixtures/
// gan-extras.json, made by scripts/fixtures/make_gan_extra_fixtures.py): state-dict keys, the
// initial u and v from the same generator state, outputs and u, v after training-mode calls,
// an evaluation-mode call that leaves u alone, gradients, and R1 through a normalised critic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Module, AnyModule } from '../lib/nn/module';
import { Linear, Conv2d, ConvTranspose2d, Sequential, LeakyReLU, Flatten } from '../lib/nn/layers';
import { spectralNorm, spectralNormNames } from '../lib/nn/spectral-norm';
import { r1Penalty } from '../lib/gan/penalties';
import { SGD } from '../lib/optim';
import { Entry, f64, closeArr } from './helpers/fixture';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

type Step = { out: Entry; u: Entry; v: Entry; grads?: Record<string, Entry> };
type Case = {
  nPowerIterations: number; stateKeys: string[]; state: Record<string, Entry>; x: Entry; train: Step[];
  eval: Required<Step>; gradWeights: Entry;
};
const all = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'gan-extras.json'), 'utf8')).spectral;
const close = (t: Tensor, e: Entry, tol: number, what: string): void => {
  assert.equal(t.shape, e.shape, `${what}: shape`);
  closeArr(t.toArray(), e.data, tol, what);
};

const makers: Record<string, () => AnyModule> = {
  linear: () => new Linear(5, 3, { dtype: 'float64' }),
  linear3: () => new Linear(4, 6, { dtype: 'float64' }),
  conv: () => new Conv2d(2, 3, 3, { padding: 1, dtype: 'float64' }),
  convTranspose: () => new ConvTranspose2d(3, 2, 4, { stride: 2, padding: 1, dtype: 'float64' }),
};

function grads(m: AnyModule, y: Tensor, w: Tensor): Record<string, number[]> {
  const loss = y.mul(w).sum();
  const [gw, gb] = tg.autograd.grad(loss, [m.param('weight_orig'), m.param('bias')]);
  return { weight_orig: gw!.toArray(), bias: gb!.toArray() };
}

for (const [name, make] of Object.entries(makers)) {
  const c = all[name] as Case;
  test(`${name}: keys, initial u/v, three training calls, an evaluation call and gradients equal torch's spectral_norm`, () => {
    const m = make();
    tg.manualSeed(7);
    spectralNorm(m, { nPowerIterations: c.nPowerIterations });
    assert.equal(Object.keys(m.stateDict()), c.stateKeys, 'state-dict keys and order');
    assert.equal(m.namedParameters().map(([n]) => n), ['bias', 'weight_orig']);
    // the same generator state gives the same initial vectors
    close(m.buffer('weight_u'), c.state.weight_u, 1e-12, 'initial u');
    close(m.buffer('weight_v'), c.state.weight_v, 1e-12, 'initial v');
    const sd: Record<string, Tensor> = {};
    for (const [k, e] of Object.entries(c.state)) sd[k] = f64(e);
    m.loadStateDict(sd);
    const x = f64(c.x);
    const w = f64(c.gradWeights);
    m.train();
    c.train.forEach((step, i) => {
      const y = m.call(x);
      close(y, step.out, 1e-10, `train call ${i}: output`);
      close(m.buffer('weight_u'), step.u, 1e-10, `train call ${i}: u`);
      close(m.buffer('weight_v'), step.v, 1e-10, `train call ${i}: v`);
      if (step.grads) {
        const g = grads(m, y, w);
        closeArr(g.weight_orig, step.grads.weight_orig.data, 1e-9, 'train d/dweight_orig');
        closeArr(g.bias, step.grads.bias.data, 1e-9, 'train d/dbias');
      }
    });
    m.eval();
    const uBefore = m.buffer('weight_u').toArray();
    const y = m.call(x);
    close(y, c.eval.out, 1e-10, 'eval output');
    assert.equal(m.buffer('weight_u').toArray(), uBefore, 'eval leaves u alone');
    close(m.buffer('weight_u'), c.eval.u, 1e-10, 'eval u');
    const g = grads(m, y, w);
    closeArr(g.weight_orig, c.eval.grads.weight_orig.data, 1e-9, 'eval d/dweight_orig');
    closeArr(g.bias, c.eval.grads.bias.data, 1e-9, 'eval d/dbias');
    m.dispose();
  });
}

test('the normalised weight has spectral norm 1 after enough power iterations; weight_orig is untouched', () => {
  const m = new Linear(6, 4, { dtype: 'float64' });
  const orig = m.weight.toArray();
  spectralNorm(m, { nPowerIterations: 50 });
  let sigma = 0;
  // read the weight through a forward (it exists only then)
  const probe = new (class extends Module {
    constructor(readonly inner: Linear) { super(); }
    forward(x: Tensor): Tensor {
      return this.inner.forward(x);
    }
  })(m);
  const id = tg.eye(6, 6, { dtype: 'float64' });
  const y = probe.forward(id); // rows: W e_i + b
  const b = m.param('bias');
  const wT = y.sub(b); // [6, 4] = Wᵀ
  const sv = wT.t().matmul(wT); // W Wᵀ: eigenvalues σᵢ²
  // the largest eigenvalue by power iteration here, in JS
  const a = sv.toArray();
  let vec = [1, 1, 1, 1];
  for (let it = 0; it < 500; it++) {
    const next = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].reduce((s, j) => s + a[i * 4 + j] * vec[j], 0));
    const n = Math.hypot(...next);
    vec = next.map((q) => q / n);
    sigma = Math.sqrt(n);
  }
  assert.ok(Math.abs(sigma - 1) < 1e-8, `σ(W/σ) = ${sigma}`);
  assert.equal(m.param('weight_orig').toArray(), orig, 'weight_orig unchanged');
  assert.throws(() => m.weight, /spectrally normalised: it exists only while forward\(\) runs/);
  assert.equal(spectralNormNames(m), ['weight']);
});

test('R1 through a spectrally normalised critic (training mode) matches torch, including the power-iteration update', () => {
  const c = all.r1Critic as { initState: Record<string, Entry>; state: Record<string, Entry>; real: Entry; r1: number; r1Norms: number[]; grads: Record<string, Entry>; uAfter: Record<string, Entry> };
  const critic = new Sequential(new Linear(2, 8, { dtype: 'float64' }), new LeakyReLU(0.2), new Linear(8, 1, { dtype: 'float64' }), new Flatten(0));
  tg.manualSeed(8);
  spectralNorm(critic.at(0));
  spectralNorm(critic.at(2));
  const sd: Record<string, Tensor> = {};
  for (const [k, e] of Object.entries(c.state)) sd[k] = f64(e);
  critic.loadStateDict(sd);
  const r = r1Penalty(critic, f64(c.real));
  closeArr([r.penalty.item()], [c.r1], 1e-10, 'r1');
  closeArr(r.gradNorms.toArray(), c.r1Norms, 1e-10, 'norms');
  for (const [k, e] of Object.entries(c.uAfter)) close(critic.stateDict()[k], e, 1e-10, k);
  const names = Object.keys(c.grads);
  const params = new Map(critic.namedParameters());
  const gs = tg.autograd.grad(r.penalty, names.map((n) => params.get(n)!), { allowUnused: true });
  names.forEach((n, i) => closeArr(gs[i] ? gs[i]!.toArray() : new Array(c.grads[n].data.length).fill(0), c.grads[n].data, 1e-8, `d/d${n}`));
});

test('an optimizer built before spectralNorm still trains the weight; repeated calls and backward do not clash; no leaks', () => {
  const m = new Linear(3, 2, { dtype: 'float64' });
  const w = m.weight;
  const opt = new SGD(m.parameters(), { lr: 0.1 });
  spectralNorm(m);
  assert.is(m.param('weight_orig'), w, 'the same Tensor object');
  const x = tg.randn([4, 3], { dtype: 'float64' });
  const before = w.toArray();
  const y1 = m.call(x);
  const y2 = m.call(x); // updates u and v in place while y1's graph is alive
  y1.sum().add(y2.sum()).backward();
  opt.step();
  assert.ok(w.toArray().some((v, i) => v !== before[i]), 'weight_orig moved');
  m.call(x).dispose();
  const live = tg.memory().tensors;
  for (let i = 0; i < 3; i++) tg.tidy(() => { m.call(x).sum().backward(); });
  m.eval();
  tg.tidy(() => { m.call(x); });
  assert.is(tg.memory().tensors, live, 'live tensors');
});

test('spectralNorm: bad input refused', () => {
  const m = new Linear(3, 2);
  assert.throws(() => spectralNorm(m, { name: 'wieght' }), /name of one of Linear's own parameters for spectralNorm\(\) options.name/);
  assert.throws(() => spectralNorm(m, { nPowerIterations: 0 }), /positive integer for spectralNorm\(\) options.nPowerIterations/);
  assert.throws(() => spectralNorm(m, { eps: 0 }), /positive number for spectralNorm\(\) options.eps/);
  assert.throws(() => spectralNorm(m, { dim: 2 }), /dimension of the 2-D 'weight' for spectralNorm\(\) options.dim/);
  assert.throws(() => spectralNorm(m, { power: 1 } as never), /Unknown option 'power'/);
  assert.throws(() => spectralNorm({} as never), /Module for module/);
  spectralNorm(m);
  assert.throws(() => spectralNorm(m), /already spectrally normalised/);
});

test.run();
