// GAN losses against hand-computed values, including logits large enough to
// overflow a naive sigmoid-then-log (they must stay finite).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import {
  bceDiscriminatorLoss, nonSaturatingGeneratorLoss, minimaxGeneratorLoss, wassersteinCriticLoss, wassersteinGeneratorLoss,
  hingeDiscriminatorLoss, hingeGeneratorLoss, ganLoss, leastSquaresCriticLoss, leastSquaresGeneratorLoss,
} from '../lib/gan/losses';

const t64 = (a: number[]) => tg.tensor(Float64Array.from(a), [a.length], { dtype: 'float64' });
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const close = (a: number, b: number, tol = 1e-10, what = '') => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

const real = [2.5, -0.3, 0.0, 1.2];
const fake = [-1.5, 0.7, -4.0, 0.1];

test('BCE discriminator loss = mean softplus(-real) + mean softplus(fake)', () => {
  const v = bceDiscriminatorLoss(t64(real), t64(fake)).item();
  close(v, mean(real.map((x) => softplus(-x))) + mean(fake.map(softplus)), 1e-12, 'bce D');
});

test('BCE with one-sided label smoothing', () => {
  const v = bceDiscriminatorLoss(t64(real), t64(fake), { realLabel: 0.9 }).item();
  // BCE(x, y) = softplus(x) - x y
  const r = mean(real.map((x) => softplus(x) - 0.9 * x));
  close(v, r + mean(fake.map(softplus)), 1e-12, 'smoothed');
  assert.throws(() => bceDiscriminatorLoss(t64(real), t64(fake), { realLabel: 2 }), /\[0, 1\]/);
});

test('non-saturating and minimax generator losses', () => {
  close(nonSaturatingGeneratorLoss(t64(fake)).item(), mean(fake.map((x) => softplus(-x))), 1e-12, 'non-saturating');
  close(minimaxGeneratorLoss(t64(fake)).item(), -mean(fake.map(softplus)), 1e-12, 'minimax');
  // minimax = E[log(1 - sigmoid(f))]
  close(minimaxGeneratorLoss(t64(fake)).item(), mean(fake.map((x) => Math.log(1 - 1 / (1 + Math.exp(-x))))), 1e-12, 'log(1 - D)');
});

test('Wasserstein losses', () => {
  close(wassersteinCriticLoss(t64(real), t64(fake)).item(), mean(fake) - mean(real), 1e-12, 'critic');
  close(wassersteinGeneratorLoss(t64(fake)).item(), -mean(fake), 1e-12, 'generator');
  // [N, 1] outputs work the same
  const r2 = tg.tensor(Float64Array.from(real), [4, 1], { dtype: 'float64' });
  close(wassersteinCriticLoss(r2, t64(fake)).item(), mean(fake) - mean(real), 1e-12, 'critic [N,1]');
});

test('hinge losses', () => {
  const d = mean(real.map((x) => Math.max(0, 1 - x))) + mean(fake.map((x) => Math.max(0, 1 + x)));
  close(hingeDiscriminatorLoss(t64(real), t64(fake)).item(), d, 1e-12, 'hinge D');
  close(hingeGeneratorLoss(t64(fake)).item(), -mean(fake), 1e-12, 'hinge G');
});

test('large logits: no inf or NaN in values or gradients (float32)', () => {
  const big = [1e4, -1e4, 88.8, -88.8, 200, -200];
  const r = tg.tensor(big, { requiresGrad: true });
  const f = tg.tensor(big.map((x) => -x), { requiresGrad: true });
  const d = bceDiscriminatorLoss(r, f);
  const dv = d.item();
  assert.ok(Number.isFinite(dv), `D loss finite: ${dv}`);
  // softplus(-x) for real and softplus(-x) for fake(= -x): each term is softplus(-big)
  close(dv, 2 * mean(big.map((x) => softplus(-x))), 1e-5, 'D loss value');
  d.backward();
  assert.ok(r.grad!.toArray().every(Number.isFinite) && f.grad!.toArray().every(Number.isFinite), 'finite grads');
  const g = nonSaturatingGeneratorLoss(f);
  close(g.item(), mean(big.map((x) => softplus(x))), 1e-5, 'G loss');
  const m = minimaxGeneratorLoss(f);
  assert.ok(Number.isFinite(m.item()), 'minimax finite');
  const [gg] = tg.autograd.grad(g, f);
  assert.ok(gg!.toArray().every(Number.isFinite), 'G grads finite');
  // the saturating/non-saturating slopes: d/dx softplus(-x) = -sigmoid(-x)
  close(gg!.toArray()[0], -1 / big.length, 1e-6, 'full slope at a confidently rejected fake (-1e4)');
  close(gg!.toArray()[1], 0, 1e-6, 'no slope at an accepted fake (1e4)');
});

test('ganLoss gives the pairs; unknown kinds are refused', () => {
  for (const k of ['gan', 'minimax', 'wgan', 'hinge', 'lsgan'] as const) {
    const p = ganLoss(k);
    assert.ok(Number.isFinite(p.critic(t64(real), t64(fake)).item()));
    assert.ok(Number.isFinite(p.generator(t64(fake)).item()));
  }
  assert.throws(() => ganLoss('ragan' as never), /one of 'gan', 'minimax', 'wgan', 'hinge', 'lsgan'/);
  assert.throws(() => wassersteinCriticLoss([1] as never, t64(fake)), /realScores/);
});

test('least-squares (LSGAN) losses: ½E[(D(x)-1)²] + ½E[D(G(z))²] and ½E[(D(G(z))-1)²], with their gradients', () => {
  const d = 0.5 * mean(real.map((x) => (x - 1) ** 2)) + 0.5 * mean(fake.map((x) => x ** 2));
  close(leastSquaresCriticLoss(t64(real), t64(fake)).item(), d, 1e-12, 'lsgan D');
  close(leastSquaresGeneratorLoss(t64(fake)).item(), 0.5 * mean(fake.map((x) => (x - 1) ** 2)), 1e-12, 'lsgan G');
  close(ganLoss('lsgan').critic(t64(real), t64(fake)).item(), d, 1e-12, 'ganLoss pair');
  // Mao et al.'s a-b-c coding (eq. 8: a = -1, b = 1, c = 0)
  const abc = 0.5 * mean(real.map((x) => (x - 1) ** 2)) + 0.5 * mean(fake.map((x) => (x + 1) ** 2));
  close(leastSquaresCriticLoss(t64(real), t64(fake), { fakeTarget: -1, realTarget: 1 }).item(), abc, 1e-12, 'a=-1, b=1');
  close(leastSquaresGeneratorLoss(t64(fake), { target: 0 }).item(), 0.5 * mean(fake.map((x) => x ** 2)), 1e-12, 'c=0');
  // d/ds_i ½·mean((s - t)²) = (s_i - t) / n
  const r = tg.tensor(Float64Array.from(real), [4], { dtype: 'float64', requiresGrad: true });
  const f = tg.tensor(Float64Array.from(fake), [4], { dtype: 'float64', requiresGrad: true });
  leastSquaresCriticLoss(r, f).backward();
  r.grad!.toArray().forEach((g, i) => close(g, (real[i] - 1) / 4, 1e-12, `dD/dreal[${i}]`));
  f.grad!.toArray().forEach((g, i) => close(g, fake[i] / 4, 1e-12, `dD/dfake[${i}]`));
  const [gg] = tg.autograd.grad(leastSquaresGeneratorLoss(f), f);
  gg!.toArray().forEach((g, i) => close(g, (fake[i] - 1) / 4, 1e-12, `dG/dfake[${i}]`));
  // the loss does not saturate: a fake scored far below the boundary still gets a full-size pull
  const far = tg.tensor([-50], { dtype: 'float64', requiresGrad: true });
  const [gf] = tg.autograd.grad(leastSquaresGeneratorLoss(far), far);
  close(gf!.item(), -51, 1e-12, 'gradient at -50');
  assert.throws(() => leastSquaresCriticLoss(t64(real), t64(fake), { realTarget: NaN }), /finite number for options.realTarget/);
  assert.throws(() => leastSquaresGeneratorLoss(t64(fake), { tagret: 1 } as never), /Unknown option 'tagret'/);
});

test('losses free their intermediates', () => {
  const r = t64(real);
  const f = t64(fake);
  const before = tg.memory().tensors;
  for (const k of ['gan', 'minimax', 'wgan', 'hinge', 'lsgan'] as const) {
    const p = ganLoss(k);
    p.critic(r, f).dispose();
    p.generator(f).dispose();
  }
  assert.is(tg.memory().tensors, before);
});

test.run();
