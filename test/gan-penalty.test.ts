// Gradient penalties against PyTorch 1.13 (test/fixtures/gan.json, made by
// scripts/fixtures/make_gan_fixtures.py): values, per-sample norms and the penalty's
// gradients with respect to the critic's weights (a double backward), in float64.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { gradientPenalty, draganPenalty, clipWeights_, findBatchNorm, perSampleNorm } from '../lib/gan/penalties';
import { Tensor } from '../lib/tensor/tensor';
import * as F from '../lib/nn/functional';
import { SGD } from '../lib/optim';
import { Sequential, Linear, BatchNorm1d, LayerNorm, ReLU, Flatten } from '../lib/nn/layers';
import { wassersteinCriticLoss } from '../lib/gan/losses';
import { Entry, f64, closeArr, checkGrads } from './helpers/fixture';

// These tensors are tiny: a second intra-op thread only adds a barrier per op, which costs
// a scheduler slice whenever the cores are shared (measured 30-60x slower under load).
let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

type Case = {
  params: Record<string, Entry>;
  real: Entry;
  fake: Entry;
  eps: number[];
  lambda: number;
  wgangp: {
    penalty: number; gradNorms: number[]; gradNorm: number; oneSidedPenalty: number; wholeBatchPenalty: number;
    grads: Record<string, Entry>; oneSidedGrads: Record<string, Entry>;
  };
  dragan: {
    noise: Entry; alpha: number[]; std: number; penalty: number; gradNorms: number[]; grads: Record<string, Entry>;
    symmetricPenalty: number; symmetricGradNorms: number[]; symmetricGrads: Record<string, Entry>;
  };
  criticReal: number[];
  criticFake: number[];
};
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'gan.json'), 'utf8')) as { conv: Case; mlp: Case };

const vec = (a: number[]): Tensor => tg.tensor(Float64Array.from(a), [a.length], { dtype: 'float64' });

/** The fixture's critics as plain functions over leaf parameter tensors. */
function makeCritic(name: 'conv' | 'mlp', c: Case): { critic: (x: Tensor) => Tensor; params: Record<string, Tensor> } {
  const params: Record<string, Tensor> = {};
  for (const [k, e] of Object.entries(c.params)) params[k] = f64(e, true);
  const p = params;
  if (name === 'conv') {
    return {
      params,
      critic: (x) => tg.tidy(() => {
        const h = F.conv2d(x, p['0.weight'], p['0.bias'], { stride: 2, padding: 1 }).leakyRelu(0.2);
        return F.conv2d(h, p['2.weight'], p['2.bias']).reshape(-1);
      }),
    };
  }
  return {
    params,
    critic: (x) => tg.tidy(() => {
      const h1 = F.linear(x, p['0.weight'], p['0.bias']).relu();
      const h2 = F.linear(h1, p['2.weight'], p['2.bias']).relu();
      return F.linear(h2, p['4.weight'], p['4.bias']).reshape(-1);
    }),
  };
}

for (const name of ['conv', 'mlp'] as const) {
  const c = fixture[name];

  test(`${name}: the critic itself matches torch`, () => {
    const { critic } = makeCritic(name, c);
    closeArr(critic(f64(c.real)).toArray(), c.criticReal, 1e-10, 'D(real)');
    closeArr(critic(f64(c.fake)).toArray(), c.criticFake, 1e-10, 'D(fake)');
  });

  test(`${name}: WGAN-GP penalty, per-sample norms and d(penalty)/d(weights) match torch within 1e-5`, () => {
    const { critic, params } = makeCritic(name, c);
    const r = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: vec(c.eps) });
    closeArr([r.penalty.item()], [c.wgangp.penalty], 1e-5, 'penalty');
    closeArr(r.gradNorms.toArray(), c.wgangp.gradNorms, 1e-5, 'gradNorms');
    closeArr([r.gradNorm], [c.wgangp.gradNorm], 1e-5, 'gradNorm');
    assert.is(r.gradNorms.requiresGrad, false, 'gradNorms are detached');
    checkGrads(params, r.penalty, c.wgangp.grads, 1e-5, 'wgan-gp');
  });

  test(`${name}: one-sided WGAN-GP penalty matches torch`, () => {
    const { critic, params } = makeCritic(name, c);
    const r = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: vec(c.eps), oneSided: true });
    closeArr([r.penalty.item()], [c.wgangp.oneSidedPenalty], 1e-5, 'one-sided penalty');
    checkGrads(params, r.penalty, c.wgangp.oneSidedGrads, 1e-5, 'one-sided');
  });

  test(`${name}: eps given as [N, 1, ...] is the same as [N]`, () => {
    const { critic } = makeCritic(name, c);
    const shape = [c.eps.length, ...c.real.shape.slice(1).map(() => 1)];
    const r = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: tg.tensor(Float64Array.from(c.eps), shape, { dtype: 'float64' }) });
    closeArr([r.penalty.item()], [c.wgangp.penalty], 1e-5, 'penalty');
  });

  test(`${name}: DRAGAN penalty (authors' notebook) matches torch`, () => {
    const { critic, params } = makeCritic(name, c);
    const real = f64(c.real);
    closeArr([real.std().item()], [c.dragan.std], 1e-12, 'unbiased std over the batch');
    const r = draganPenalty(critic, real, { noise: f64(c.dragan.noise), alpha: vec(c.dragan.alpha) });
    closeArr([r.penalty.item()], [c.dragan.penalty], 1e-5, 'dragan penalty');
    closeArr(r.gradNorms.toArray(), c.dragan.gradNorms, 1e-5, 'dragan gradNorms');
    checkGrads(params, r.penalty, c.dragan.grads, 1e-5, 'dragan');
  });

  test(`${name}: symmetric DRAGAN penalty matches torch`, () => {
    const { critic, params } = makeCritic(name, c);
    const r = draganPenalty(critic, f64(c.real), { noise: f64(c.dragan.noise), alpha: vec(c.dragan.alpha), symmetric: true });
    closeArr([r.penalty.item()], [c.dragan.symmetricPenalty], 1e-5, 'symmetric penalty');
    closeArr(r.gradNorms.toArray(), c.dragan.symmetricGradNorms, 1e-5, 'symmetric gradNorms');
    checkGrads(params, r.penalty, c.dragan.symmetricGrads, 1e-5, 'symmetric');
  });

  test(`${name}: the per-sample norm is not seed 004's whole-batch norm (regression guard)`, () => {
    const { critic } = makeCritic(name, c);
    const r = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: vec(c.eps) });
    const p = r.penalty.item();
    assert.ok(Math.abs(p - c.wgangp.wholeBatchPenalty) > 0.1 * Math.abs(c.wgangp.wholeBatchPenalty), `${p} vs whole-batch ${c.wgangp.wholeBatchPenalty}`);
  });
}

test('the penalty gradient reaches the weights and changes an optimizer step', () => {
  const c = fixture.conv;
  // one SGD step on the Wasserstein loss alone, and one on the loss plus the penalty, from the same weights
  const stepWith = (withPenalty: boolean): { grad: number[]; after: Record<string, number[]> } => {
    const { critic, params } = makeCritic('conv', c);
    const opt = new SGD(Object.values(params), { lr: 0.1 });
    opt.zeroGrad();
    const real = f64(c.real);
    const fake = f64(c.fake);
    let loss = wassersteinCriticLoss(critic(real), critic(fake));
    if (withPenalty) loss = loss.add(gradientPenalty(critic, real, fake, { eps: vec(c.eps) }).penalty);
    loss.backward();
    const grad = params['0.weight'].grad!.toArray();
    opt.step();
    const after: Record<string, number[]> = {};
    for (const [k, p] of Object.entries(params)) after[k] = p.toArray();
    return { grad, after };
  };
  const plain = stepWith(false);
  const pen = stepWith(true);
  const diff = Math.max(...pen.grad.map((g, i) => Math.abs(g - plain.grad[i])));
  assert.ok(diff > 1e-3, `the penalty changes d(loss)/d(0.weight) (max change ${diff})`);
  // the change is the penalty's own gradient, as torch computed it
  const expected = c.wgangp.grads['0.weight'].data;
  closeArr(pen.grad.map((g, i) => g - plain.grad[i]), expected, 1e-6, 'gradient difference = d(penalty)/d(0.weight)');
  // (biases before a piecewise-linear activation get no penalty gradient: the input gradient does not depend on them)
  for (const k of ['0.weight', '2.weight']) {
    const moved = pen.after[k].some((v, i) => Math.abs(v - plain.after[k][i]) > 1e-6);
    assert.ok(moved, `${k}: the step with the penalty differs`);
  }
  // and a step on the penalty alone lowers it
  const { critic, params } = makeCritic('conv', c);
  const opt = new SGD(Object.values(params), { lr: 0.01 });
  const p1 = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: vec(c.eps) }).penalty;
  p1.backward();
  opt.step();
  const p2 = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: vec(c.eps) }).penalty;
  assert.ok(p2.item() < p1.item(), `penalty decreases after a step on it (${p1.item()} -> ${p2.item()})`);
});

test('a critic with batch norm is refused (both penalties), with an explanation; allowed on request', () => {
  const critic = new Sequential(new Linear(2, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 1), new Flatten(0));
  const real = tg.randn([6, 2]);
  const fake = tg.randn([6, 2]);
  assert.throws(() => gradientPenalty(critic, real, fake), (e: Error) =>
    /gradientPenalty\(\): the critic contains batch normalization \(1 \(BatchNorm1d\)\)/.test(e.message)
    && /each input sample separately/.test(e.message) && /whole batch/.test(e.message)
    && /LayerNorm, InstanceNorm2d or no normalization/.test(e.message) && /allowBatchNormWithPenalty: true/.test(e.message));
  assert.throws(() => draganPenalty(critic, real), /draganPenalty\(\): the critic contains batch normalization/);
  const r = gradientPenalty(critic, real, fake, { allowBatchNormWithPenalty: true });
  assert.ok(Number.isFinite(r.penalty.item()));
  // layer norm is fine
  const ln = new Sequential(new Linear(2, 4), new LayerNorm(4), new ReLU(), new Linear(4, 1), new Flatten(0));
  assert.ok(Number.isFinite(gradientPenalty(ln, real, fake).penalty.item()));
  assert.equal(findBatchNorm(ln), []);
});

test('the norm is finite and its double backward has no NaN when the gradient is exactly zero', () => {
  const w = tg.tensor([[0, 0]], { dtype: 'float64', requiresGrad: true });
  const critic = (x: Tensor): Tensor => F.linear(x, w).reshape(-1);
  const real = tg.tensor([[1, 2], [3, 4]], { dtype: 'float64' });
  const fake = tg.tensor([[0, 1], [1, 0]], { dtype: 'float64' });
  const r = gradientPenalty(critic, real, fake);
  assert.ok(Math.abs(r.penalty.item() - 10) < 1e-4, `penalty is λ(1e-6 - 1)² ≈ 10, got ${r.penalty.item()}`);
  r.penalty.backward();
  const g = w.grad!.toArray();
  assert.ok(g.every(Number.isFinite), `finite gradient ${g}`);
});

test('per-sample norm: sqrt(sum over non-batch dims + 1e-12)', () => {
  const g = tg.tensor([[[3, 4]], [[0, 0]]], { dtype: 'float64' });
  closeArr(perSampleNorm(g).toArray(), [5, 1e-6], 1e-12, 'norms');
});

test('a random eps is one value per sample (norms equal the per-sample fixture when eps is constant)', () => {
  // with real == fake, x̂ == real whatever eps is: the per-sample norms equal a direct computation
  const c = fixture.mlp;
  const { critic } = makeCritic('mlp', c);
  const real = f64(c.real);
  tg.manualSeed(3);
  const r = gradientPenalty(critic, real, real);
  const x = real.clone().requiresGrad_(true);
  const [g] = tg.autograd.grad(critic(x).sum(), x);
  closeArr(r.gradNorms.toArray(), perSampleNorm(g!).toArray(), 1e-12, 'norms at the real points');
});

test('bad arguments are refused with clear errors', () => {
  const c = fixture.mlp;
  const { critic } = makeCritic('mlp', c);
  const real = f64(c.real);
  assert.throws(() => gradientPenalty(critic, real, real.index('0:2')), /same shape as real/);
  assert.throws(() => gradientPenalty(critic, real, real, { lamda: 10 } as never), /Unknown option 'lamda'/);
  assert.throws(() => gradientPenalty(critic, real, real, { lambda: -1 }), /non-negative number/);
  assert.throws(() => gradientPenalty(critic, real, real, { eps: vec([0.5]) }), /one value per sample/);
  assert.throws(() => draganPenalty(critic, real, { noise: vec([0.5]) }), /shape of real/);
  assert.throws(() => gradientPenalty(((x: Tensor) => x.sum(1).reshape(-1, 1).repeat(1, 2)) as never, real, real), /one value per sample/);
  assert.throws(() => gradientPenalty(42 as never, real, real), /critic/);
});

test('weight clipping clamps every parameter in place', () => {
  const a = tg.tensor([-1, -0.005, 0.5], { requiresGrad: true });
  const b = tg.tensor([[0.02, 0.001]], { requiresGrad: true });
  clipWeights_([a, b]);
  closeArr(a.toArray(), [-0.01, -0.005, 0.01], 1e-7, 'a');
  closeArr(b.toArray(), [0.01, 0.001], 1e-7, 'b');
  clipWeights_({ parameters: () => [a] }, -0.001, 0.002);
  closeArr(a.toArray(), [-0.001, -0.001, 0.002], 1e-7, 'a');
  assert.is(a.requiresGrad, true);
  assert.throws(() => clipWeights_([a], 1, -1), /no greater than upper/);
});

test('findBatchNorm walks module trees by their children', () => {
  class BatchNorm2d { forward(x: Tensor) { return x; } }
  class Seq { constructor(private mods: unknown[]) {} namedChildren() { return this.mods.map((m, i) => [String(i), m]); } forward(x: Tensor) { return x; } }
  assert.equal(findBatchNorm(new Seq([{}, new Seq([new BatchNorm2d()])])), ['1.0 (BatchNorm2d)']);
  assert.equal(findBatchNorm((x: Tensor) => x), []);
});

test('the penalties free everything but their results', () => {
  const c = fixture.conv;
  const { critic } = makeCritic('conv', c);
  const real = f64(c.real);
  const fake = f64(c.fake);
  gradientPenalty(critic, real, fake); // warm up
  const before = tg.memory().tensors;
  for (const r of [gradientPenalty(critic, real, fake), gradientPenalty(critic, real, fake, { oneSided: true }), draganPenalty(critic, real), draganPenalty(critic, real, { symmetric: true })]) {
    r.penalty.dispose();
    r.gradNorms.dispose();
  }
  assert.is(tg.memory().tensors, before, 'live tensors');
});

test('gradNorm is read lazily from gradNorms: the same number when read, cached, and a clear error once gradNorms is freed', () => {
  const c = fixture.conv;
  const { critic } = makeCritic('conv', c);
  const r = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: vec(c.eps) });
  const mean = r.gradNorms.toArray().reduce((a, b) => a + b, 0) / r.gradNorms.numel();
  closeArr([r.gradNorm], [mean], 1e-12, 'gradNorm = mean of gradNorms');
  r.gradNorms.dispose();
  assert.is(r.gradNorm, r.gradNorm, 'cached after the first read');
  const late = gradientPenalty(critic, f64(c.real), f64(c.fake), { eps: vec(c.eps) });
  late.gradNorms.dispose();
  assert.throws(() => late.gradNorm, /gradientPenalty.*read it before gradNorms is freed/);
  for (const t of [r.penalty, late.penalty]) t.dispose();
});

test.run();
