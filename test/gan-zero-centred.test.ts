// R1 and R2 zero-centred penalties against PyTorch 1.13 (test/fixtures/gan-extras.json, made by
// scripts/fixtures/make_gan_extra_fixtures.py): values, per-sample norms and the penalty's
// gradients with respect to the critic's weights (a double backward), in float64; lazy
// regularisation's interval scaling and StyleGAN2's optimizer correction.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { r1Penalty, r2Penalty, isLazyRegularizationStep, lazyAdamHyperparameters } from '../lib/gan/penalties';
import { Tensor } from '../lib/tensor/tensor';
import * as F from '../lib/nn/functional';
import { Sequential, Linear, BatchNorm1d, ReLU, Flatten } from '../lib/nn/layers';
import { Entry, f64, closeArr, checkGrads } from './helpers/fixture';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

type Run = {
  gamma: number; interval: number;
  r1: number; r1Norms: number[]; r1Grads: Record<string, Entry>;
  r2: number; r2Norms: number[]; r2Grads: Record<string, Entry>;
};
type Case = { params: Record<string, Entry>; real: Entry; fake: Entry; runs: Run[] };
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'gan-extras.json'), 'utf8')).r1r2 as { conv: Case; mlp: Case };

function makeCritic(name: 'conv' | 'mlp', c: Case): { critic: (x: Tensor) => Tensor; params: Record<string, Tensor> } {
  const p: Record<string, Tensor> = {};
  for (const [k, e] of Object.entries(c.params)) p[k] = f64(e, true);
  if (name === 'conv') {
    return {
      params: p,
      critic: (x) => tg.tidy(() => F.conv2d(F.conv2d(x, p['0.weight'], p['0.bias'], { stride: 2, padding: 1 }).leakyRelu(0.2), p['2.weight'], p['2.bias']).reshape(-1)),
    };
  }
  return {
    params: p,
    critic: (x) => tg.tidy(() => {
      const h1 = F.linear(x, p['0.weight'], p['0.bias']).tanh();
      const h2 = F.linear(h1, p['2.weight'], p['2.bias']).tanh();
      return F.linear(h2, p['4.weight'], p['4.bias']).reshape(-1);
    }),
  };
}

for (const name of ['conv', 'mlp'] as const) {
  const c = fixture[name];
  for (const run of c.runs) {
    test(`${name}: R1 and R2 (gamma ${run.gamma}, interval ${run.interval}) and their weight gradients match torch`, () => {
      const { critic, params } = makeCritic(name, c);
      const o = { gamma: run.gamma, interval: run.interval };
      const r1 = r1Penalty(critic, f64(c.real), o);
      closeArr([r1.penalty.item()], [run.r1], 1e-10, 'r1');
      closeArr(r1.gradNorms.toArray(), run.r1Norms, 1e-10, 'r1 norms');
      assert.is(r1.gradNorms.requiresGrad, false);
      checkGrads(params, r1.penalty, run.r1Grads, 1e-8, 'r1');
      const r2 = r2Penalty(critic, f64(c.fake), o);
      closeArr([r2.penalty.item()], [run.r2], 1e-10, 'r2');
      closeArr(r2.gradNorms.toArray(), run.r2Norms, 1e-10, 'r2 norms');
      checkGrads(params, r2.penalty, run.r2Grads, 1e-8, 'r2');
      const mean = run.r1Norms.reduce((a, b) => a + b, 0) / run.r1Norms.length;
      closeArr([r1.gradNorm], [mean], 1e-10, 'gradNorm');
    });
  }
}

test('R1 is gamma/2 * mean ||grad||^2 * interval: a linear critic gives the analytic value, and the penalty is zero-centred', () => {
  // D(x) = x·w: ∇D = w for every sample, so R1 = gamma/2 * |w|² * interval whatever x is
  const w = tg.tensor([[3, -4, 12]], { dtype: 'float64', requiresGrad: true });
  const critic = (x: Tensor): Tensor => F.linear(x, w).reshape(-1);
  const x = tg.randn([7, 3], { dtype: 'float64' });
  const r = r1Penalty(critic, x, { gamma: 2, interval: 3 });
  closeArr([r.penalty.item()], [(2 / 2) * 169 * 3], 1e-12, 'analytic');
  closeArr(r.gradNorms.toArray(), new Array(7).fill(13), 1e-12, 'norms');
  // d/dw of gamma/2·|w|²·k = gamma·k·w
  r.penalty.backward();
  closeArr(w.grad!.toArray(), [3 * 2 * 3, -4 * 2 * 3, 12 * 2 * 3], 1e-12, 'dR1/dw');
  // a flat critic is not penalised (no target norm of 1 as in WGAN-GP), and the gradient stays finite
  const zero = tg.tensor([[0, 0, 0]], { dtype: 'float64', requiresGrad: true });
  const flat = r1Penalty((v: Tensor) => F.linear(v, zero).reshape(-1), x);
  assert.is(flat.penalty.item(), 0);
  flat.penalty.backward();
  assert.ok(zero.grad!.toArray().every((g) => g === 0));
  // the samples are detached: nothing flows back into them
  const leaf = tg.randn([2, 3], { dtype: 'float64', requiresGrad: true });
  r1Penalty(critic, leaf).penalty.backward();
  assert.is(leaf.grad, null);
});

test('lazy regularisation: steps and StyleGAN2\'s Adam correction', () => {
  assert.equal([0, 1, 2, 3, 4, 15, 16, 32].map((s) => isLazyRegularizationStep(s, 16)), [true, false, false, false, false, false, true, true]);
  assert.ok([0, 1, 2].every((s) => isLazyRegularizationStep(s, 1)));
  const c = 16 / 17;
  const h = lazyAdamHyperparameters(0.0025, [0, 0.99], 16);
  closeArr([h.lr, h.betas[0], h.betas[1]], [0.0025 * c, 0, 0.99 ** c], 1e-15, 'corrected');
  assert.equal(lazyAdamHyperparameters(1e-3, [0.5, 0.9], 1), { lr: 1e-3, betas: [0.5, 0.9] });
  assert.throws(() => isLazyRegularizationStep(-1, 4), /non-negative integer for step/);
  assert.throws(() => lazyAdamHyperparameters(1e-3, [0.5, 1], 4), /pair of numbers in \[0, 1\) for betas/);
});

test('R1/R2: bad arguments, batch norm refused, nothing leaks', () => {
  const c = fixture.mlp;
  const { critic } = makeCritic('mlp', c);
  const real = f64(c.real);
  assert.throws(() => r1Penalty(critic, real, { gamma: -1 }), /non-negative number for r1Penalty\(\) options.gamma/);
  assert.throws(() => r1Penalty(critic, real, { interval: 1.5 }), /positive integer \(critic steps between applications\) for r1Penalty\(\) options.interval/);
  assert.throws(() => r2Penalty(critic, real, { lambda: 1 } as never), /Unknown option 'lambda' for r2Penalty\(\)/);
  assert.throws(() => r2Penalty(critic, 'x' as never), /Tensor \(a batch\) for fake/);
  assert.throws(() => r1Penalty(((x: Tensor) => x) as never, real), /one value per sample/);
  const bn = new Sequential(new Linear(2, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 1), new Flatten(0));
  assert.throws(() => r1Penalty(bn, tg.randn([4, 2])), /r1Penalty\(\): the critic contains batch normalization/);
  r1Penalty(critic, real).penalty.dispose();
  const before = tg.memory().tensors;
  for (const r of [r1Penalty(critic, real), r2Penalty(critic, real, { interval: 4 })]) {
    r.penalty.dispose();
    r.gradNorms.dispose();
  }
  assert.is(tg.memory().tensors, before, 'live tensors');
});

test.run();
