// Basics: tensors, autograd and double backward, on the WGAN-GP gradient penalty.
//
//   npx tsx examples/basics.ts
//
// A tiny conv critic D: Conv2d(1→4, 3, stride 2, padding 1) → LeakyReLU(0.2) →
// Conv2d(4→1, 3). For x̂ between real and fake samples the penalty is
//   mean over the batch of (‖∇_x̂ D(x̂)‖₂ − 1)²,
// where ∇_x̂ D comes from autograd.grad(..., {createGraph: true}) so that the
// penalty can itself be differentiated with respect to D's weights (double backward).
// Weights and inputs come from test/fixtures/core.json, next to PyTorch's answers
// (regenerate with /usr/bin/python3 scripts/fixtures/make_core_fixtures.py).
import * as fs from 'fs';
import * as path from 'path';
import * as tg from 'torch-gan';
import { Tensor } from 'torch-gan';

interface Enc { shape: number[]; data: number[] }
const fixturePath = path.join(__dirname, '..', 'test', 'fixtures', 'core.json');
const gp = JSON.parse(fs.readFileSync(fixturePath, 'utf8')).gradientPenalty as {
  critic: Record<string, Enc>;
  real: Enc; fake: Enc; alpha: Enc;
  penalty: number;
  weightGrads: Record<string, Enc>;
  unusedWeights: string[];
};

const load = (e: Enc, requiresGrad = false): Tensor => tg.tensor(Float64Array.from(e.data), e.shape, { dtype: 'float64', requiresGrad });

const TOL = 1e-5;
const ok = tg.tidy(() => {
  // the critic's parameters, as leaves that require grad
  const names = ['w1', 'b1', 'w2', 'b2'];
  const p: Record<string, Tensor> = {};
  for (const n of names) p[n] = load(gp.critic[n], true);
  const D = (x: Tensor): Tensor => {
    const h = tg.F.conv2d(x, p.w1, p.b1, { stride: 2, padding: 1 }).leakyRelu(0.2);
    return tg.F.conv2d(h, p.w2, p.b2).reshape(-1); // one score per sample
  };

  // x̂ = α·real + (1 − α)·fake, a new leaf we differentiate with respect to
  const real = load(gp.real);
  const fake = load(gp.fake);
  const alpha = load(gp.alpha);
  const xhat = alpha.mul(real).add(alpha.rsub(1).mul(fake)).detach().requiresGrad_(true);

  // ∇_x̂ D(x̂), kept differentiable
  const [gradX] = tg.autograd.grad(D(xhat).sum(), xhat, { createGraph: true });
  const norms = gradX!.reshape(gradX!.shape[0], -1).norm(2, 1);
  const penalty = norms.sub(1).square().mean();

  // d penalty / d weights: a backward pass through the backward pass
  const grads = tg.autograd.grad(penalty, names.map((n) => p[n]), { allowUnused: true });

  console.log(`critic input      x̂: [${xhat.shape}] float64`);
  console.log(`per-sample ‖∇D‖₂   : ${norms.toArray().map((v) => v.toFixed(6)).join(', ')}`);
  console.log(`gradient penalty   : ${penalty.item().toFixed(12)}   (PyTorch ${gp.penalty.toFixed(12)})`);

  let worst = Math.abs(penalty.item() - gp.penalty);
  let good = Number.isFinite(worst);
  names.forEach((n, i) => {
    const g = grads[i];
    if (gp.unusedWeights.includes(n)) {
      // b2 only shifts D's output; the penalty does not depend on it, in PyTorch too
      console.log(`d penalty / d ${n}  : unused (${g === null ? 'null, as PyTorch' : 'NOT null'})`);
      if (g !== null) good = false;
      return;
    }
    const ref = gp.weightGrads[n].data;
    const got = g!.toArray();
    let d = 0;
    for (let k = 0; k < ref.length; k++) d = Math.max(d, Math.abs(got[k] - ref[k]));
    if (!(got.length === ref.length && Number.isFinite(d))) good = false;
    worst = Math.max(worst, d);
    const preview = got.slice(0, 4).map((v) => v.toFixed(6)).join(', ');
    console.log(`d penalty / d ${n}  : [${g!.shape}] ${preview}${got.length > 4 ? ', ...' : ''}   max |diff| ${d.toExponential(2)}`);
  });
  console.log(`max abs difference vs PyTorch: ${worst.toExponential(3)}`);
  return good && worst <= TOL;
});

if (ok) {
  console.log('OK (within 1e-5)');
} else {
  console.log(`MISMATCH: torch-gan and PyTorch differ by more than ${TOL}`);
  process.exit(1);
}
