// Outputs and gradients against PyTorch 1.13 (float64), from test/fixtures/core.json
// (regenerate: /usr/bin/python3 scripts/fixtures/make_core_fixtures.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';
import fixture from './fixtures/core.json';

interface Enc { shape: number[]; data: number[] }
interface OpCase {
  inputs: Record<string, Enc>;
  consts: Record<string, Enc>;
  options: Record<string, unknown>;
  gradOutput: Enc;
  output: Enc;
  grads: Record<string, Enc>;
}
const ops = fixture.ops as unknown as Record<string, OpCase>;
const gp = fixture.gradientPenalty as unknown as {
  critic: Record<'w1' | 'b1' | 'w2' | 'b2', Enc>;
  real: Enc; fake: Enc; alpha: Enc; critic_out: Enc; gradNorms: Enc;
  penalty: number;
  weightGrads: Record<string, Enc>;
  unusedWeights: string[];
};

const load = (e: Enc, requiresGrad = false): Tensor => tg.tensor(Float64Array.from(e.data), e.shape, { dtype: 'float64', requiresGrad });

function assertClose(actual: Tensor, expected: Enc, tol: number, what: string): void {
  assert.equal(actual.shape, expected.shape, `${what}: shape`);
  assert.is(actual.dtype, 'float64', `${what}: dtype`);
  const a = actual.data() as Float64Array;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - expected.data[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= tol, `${what}: max |diff| ${worst} at flat index ${at} (got ${a[at]}, PyTorch ${expected.data[at]}) exceeds ${tol}`);
}

// Each case: how to run the op in torch-gan on the fixture's tensors.
type Run = (t: Record<string, Tensor>, o: Record<string, any>) => Tensor;
const runners: Record<string, Run> = {
  conv2d: (t, o) => tg.F.conv2d(t.x, t.weight, t.bias, { stride: o.stride, padding: o.padding }),
  conv2d_dilated: (t, o) => tg.F.conv2d(t.x, t.weight, t.bias, { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups }),
  conv_transpose2d: (t, o) => tg.F.convTranspose2d(t.x, t.weight, t.bias, { stride: o.stride, padding: o.padding, outputPadding: o.outputPadding }),
  instance_norm: (t, o) => tg.F.instanceNorm(t.x, { weight: t.weight, bias: t.bias, eps: o.eps }),
  layer_norm: (t, o) => tg.F.layerNorm(t.x, o.normalizedShape, t.weight, t.bias, o.eps),
  leaky_relu: (t, o) => tg.F.leakyRelu(t.x, o.negativeSlope),
  tanh: (t) => t.x.tanh(),
  linear: (t) => tg.F.linear(t.x, t.weight, t.bias),
  bce_with_logits: (t, o) => tg.F.binaryCrossEntropyWithLogits(t.x, t.target, { posWeight: t.pos_weight, reduction: o.reduction }),
  bce_with_logits_none: (t, o) => tg.F.binaryCrossEntropyWithLogits(t.x, t.target, { weight: t.weight, reduction: o.reduction }),
  log_softmax: (t, o) => tg.F.logSoftmax(t.x, o.dim),
  upsample_bilinear: (t, o) => tg.F.interpolate(t.x, { size: o.size, mode: 'bilinear', alignCorners: o.alignCorners }),
  upsample_bilinear_align: (t, o) => tg.F.interpolate(t.x, { size: o.size, mode: 'bilinear', alignCorners: o.alignCorners }),
  upsample_bilinear_scale: (t, o) => tg.F.interpolate(t.x, { scaleFactor: o.scaleFactor, mode: 'bilinear', alignCorners: o.alignCorners }),
};

test('the fixture covers every runner (and vice versa)', () => {
  assert.equal(Object.keys(ops).sort(), Object.keys(runners).sort());
  assert.is(fixture.dtype, 'float64');
});

for (const [name, c] of Object.entries(ops)) {
  test(`${name}: output and input gradients match PyTorch within 1e-6`, () => {
    tg.tidy(() => {
      const t: Record<string, Tensor> = {};
      for (const [k, e] of Object.entries(c.inputs)) t[k] = load(e, true);
      for (const [k, e] of Object.entries(c.consts)) t[k] = load(e);
      const out = runners[name](t, c.options);
      assertClose(out, c.output, 1e-6, `${name} output`);
      const names = Object.keys(c.inputs);
      const grads = tg.autograd.grad(out.mul(load(c.gradOutput)).sum(), names.map((k) => t[k]));
      names.forEach((k, i) => assertClose(grads[i]!, c.grads[k], 1e-6, `${name} d/d${k}`));
    });
  });
}

/** The critic of the fixture: conv(1→4, 3, s2, p1) → leakyRelu(0.2) → conv(4→1, 3) → [B]. */
function critic(x: Tensor, w: Record<string, Tensor>): Tensor {
  const h = tg.F.conv2d(x, w.w1, w.b1, { stride: 2, padding: 1 }).leakyRelu(0.2);
  return tg.F.conv2d(h, w.w2, w.b2).reshape(-1);
}

test('gradient penalty (double backward) and its gradient w.r.t. the critic weights match PyTorch within 1e-5', () => {
  tg.tidy(() => {
    const w: Record<string, Tensor> = {};
    for (const k of ['w1', 'b1', 'w2', 'b2'] as const) w[k] = load(gp.critic[k], true);
    const real = load(gp.real);
    const fake = load(gp.fake);
    const alpha = load(gp.alpha);
    const xhat = alpha.mul(real).add(alpha.rsub(1).mul(fake)).detach().requiresGrad_(true);
    const d = critic(xhat, w);
    assertClose(d, gp.critic_out, 1e-6, 'critic output');
    const [gx] = tg.autograd.grad(d.sum(), xhat, { createGraph: true });
    assert.ok(gx!.requiresGrad, 'createGraph: the input gradient is itself differentiable');
    const norms = gx!.reshape(gx!.shape[0], -1).norm(2, 1);
    assertClose(norms, gp.gradNorms, 1e-5, 'per-sample gradient norms');
    const penalty = norms.sub(1).square().mean();
    assert.ok(Math.abs(penalty.item() - gp.penalty) <= 1e-5, `penalty ${penalty.item()} vs PyTorch ${gp.penalty}`);
    const names = ['w1', 'b1', 'w2', 'b2'];
    const wg = tg.autograd.grad(penalty, names.map((k) => w[k]), { allowUnused: true });
    names.forEach((k, i) => {
      if (gp.unusedWeights.includes(k)) assert.is(wg[i], null, `${k}: unused by the penalty, as in PyTorch`);
      else assertClose(wg[i]!, gp.weightGrads[k], 1e-5, `d penalty / d ${k}`);
    });
  });
});

test('the penalty gradient is not trivially zero (the fixture can tell a wrong double backward)', () => {
  const w1 = gp.weightGrads.w1.data;
  assert.ok(Math.max(...w1.map(Math.abs)) > 1e-2);
});

test.run();
