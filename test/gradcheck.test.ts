// First and second derivatives of the core NN ops against central finite
// differences in float64 (lib/autograd/gradcheck.ts), and checks that the
// checker itself fails when autograd and finite differences disagree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { isTorchError } from './helpers/errors';

const { gradcheck, gradgradcheck } = tg.autograd;

tg.manualSeed(1234);
const randn = (shape: number[], scale = 1): Tensor => tg.tidy(() => tg.randn(shape, { dtype: 'float64' }).mul(scale).requiresGrad_(true));
/** Values in ±[0.1, 1]: away from kinks (leakyRelu at 0), where finite differences are smooth. */
function awayFromZero(shape: number[]): Tensor {
  return tg.tidy(() => {
    const mag = tg.uniform(shape, 0.1, 1, { dtype: 'float64' });
    const sign = tg.rand(shape, { dtype: 'float64' }).gt(0.5).double().mul(2).sub(1);
    return mag.mul(sign).requiresGrad_(true);
  });
}

interface Case { name: string; fn: (...xs: Tensor[]) => Tensor; inputs: () => Tensor[] }
const cases: Case[] = [
  {
    name: 'conv2d (stride 2, padding 1, bias)',
    fn: (x, w, b) => tg.F.conv2d(x, w, b, { stride: 2, padding: 1 }),
    inputs: () => [randn([2, 3, 5, 5]), randn([4, 3, 3, 3], 0.5), randn([4])],
  },
  {
    // one input channel, a non-square kernel and unequal strides (libtorch 1.x: input gradient by im2col)
    name: 'conv2d (1 input channel, kernel 2x3, stride [2, 1], no bias)',
    fn: (x, w) => tg.F.conv2d(x, w, null, { stride: [2, 1], padding: [1, 0] }),
    inputs: () => [randn([2, 1, 5, 6]), randn([3, 1, 2, 3], 0.5)],
  },
  {
    // more than 3 channels, no bias (libtorch 1.x: torch-gan's own double backward, weight term by convolution_backward)
    name: 'conv2d (4 input channels, stride 2, padding 1, no bias)',
    fn: (x, w) => tg.F.conv2d(x, w, null, { stride: 2, padding: 1 }),
    inputs: () => [randn([2, 4, 5, 5]), randn([3, 4, 3, 3], 0.5)],
  },
  {
    // the kernel covers the whole input (libtorch 1.x: computed as a matrix product)
    name: 'conv2d (kernel = input size 3x4, bias)',
    fn: (x, w, b) => tg.F.conv2d(x, w, b),
    inputs: () => [randn([2, 3, 3, 4]), randn([2, 3, 3, 4], 0.5), randn([2])],
  },
  {
    name: 'conv2d (dilation 2, groups 2, no bias)',
    fn: (x, w) => tg.F.conv2d(x, w, null, { padding: 2, dilation: 2, groups: 2 }),
    inputs: () => [randn([1, 4, 4, 4]), randn([2, 2, 3, 3], 0.5)],
  },
  {
    name: 'convTranspose2d (stride 2, padding 1, outputPadding 1)',
    fn: (x, w, b) => tg.F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    inputs: () => [randn([2, 3, 3, 3]), randn([3, 2, 4, 4], 0.5), randn([2])],
  },
  {
    // a 1x1 input (libtorch 1.x: computed as a matrix product)
    name: 'convTranspose2d (1x1 input, kernel 3x2, bias)',
    fn: (x, w, b) => tg.F.convTranspose2d(x, w, b),
    inputs: () => [randn([2, 4, 1, 1]), randn([4, 3, 3, 2], 0.5), randn([3])],
  },
  {
    name: 'instanceNorm (affine)',
    fn: (x, w, b) => tg.F.instanceNorm(x, { weight: w, bias: b }),
    inputs: () => [randn([2, 3, 4, 4], 2), randn([3]), randn([3])],
  },
  {
    // no affine part, 6x6 maps (libtorch 1.x: computed as layer_norm over [N*C, H*W] rows)
    name: 'instanceNorm (no affine, 6x6)',
    fn: (x) => tg.F.instanceNorm(x),
    inputs: () => [randn([2, 3, 6, 6], 2)],
  },
  {
    name: 'layerNorm (over the last two dims, affine)',
    fn: (x, w, b) => tg.F.layerNorm(x, [3, 4], w, b),
    inputs: () => [randn([2, 3, 4], 2), randn([3, 4]), randn([3, 4])],
  },
  { name: 'leakyRelu(0.2)', fn: (x) => tg.F.leakyRelu(x, 0.2), inputs: () => [awayFromZero([3, 7])] },
  { name: 'tanh', fn: (x) => x.tanh(), inputs: () => [randn([3, 7], 1.5)] },
  {
    name: 'linear (bias)',
    fn: (x, w, b) => tg.F.linear(x, w, b),
    inputs: () => [randn([4, 5]), randn([3, 5]), randn([3])],
  },
];

for (const c of cases) {
  test(`gradcheck: ${c.name}`, () => {
    const xs = c.inputs();
    assert.is(gradcheck(c.fn, xs), true);
    xs.forEach((x) => x.dispose());
  });
  test(`gradgradcheck: ${c.name}`, () => {
    const xs = c.inputs();
    assert.is(gradgradcheck(c.fn, xs), true);
    xs.forEach((x) => x.dispose());
  });
}

test('gradcheck only differentiates inputs that require grad; others pass through', () => {
  const x = randn([2, 3]);
  const c = tg.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
  assert.ok(gradcheck((a, b) => a.mul(b).sin(), [x, c]));
});

test('gradcheck handles several outputs', () => {
  const x = randn([3, 2]);
  assert.ok(gradcheck((a) => [a.tanh(), a.square().sum(1)], [x]));
  assert.ok(gradgradcheck((a) => [a.tanh(), a.square().sum(1)], [x]));
});

// ---- the checker must be able to fail

test('gradcheck FAILS when autograd misses a path (x * x.detach(): autograd says x, the truth is 2x)', () => {
  const x = randn([3, 4]);
  const wrong = (a: Tensor) => a.mul(a.detach());
  assert.is(gradcheck(wrong, [x], { raiseException: false }), false);
  assert.throws(() => gradcheck(wrong, [x]), isTorchError('ERR_GRADCHECK', /inputs\[0\].*disagrees with finite differences/));
  // the same function without detach is right
  assert.ok(gradcheck((a) => a.mul(a), [x]));
});

test('gradcheck FAILS for a wrong gradient in one input only, and names that input', () => {
  const x = randn([2, 3]);
  const w = randn([4, 3]);
  // linear with w's contribution partly hidden from autograd
  const wrong = (a: Tensor, b: Tensor) => tg.F.linear(a, b).add(tg.F.linear(a, b.detach()));
  assert.throws(() => gradcheck(wrong, [x, w]), /inputs\[1\]/);
});

test('gradcheck FAILS when autograd sees a zero gradient or no path at all', () => {
  const x = randn([5]);
  const zeroGrad = (a: Tensor) => a.detach().exp().add(a.mul(0));
  assert.throws(() => gradcheck(zeroGrad, [x]), isTorchError('ERR_GRADCHECK'));
  const noPath = (a: Tensor) => a.detach().exp();
  assert.throws(() => gradcheck(noPath, [x]), /no path from the outputs to this input/);
});

test('gradgradcheck FAILS when the first derivative is right but is not differentiable (its graph is cut)', () => {
  const x = randn([6]);
  // value x², gradient 2x computed from a detached x: first derivative right, second derivative lost
  const cut = (a: Tensor) => a.detach().square().add(a.sub(a.detach()).mul(a.detach().mul(2)));
  assert.ok(gradcheck(cut, [x]), 'first derivatives agree');
  assert.is(gradgradcheck(cut, [x], { raiseException: false }), false);
  assert.ok(gradgradcheck((a) => a.square(), [x]), 'the honest x² passes');
});

test('gradcheck rejects float32 inputs that require grad, unknown options and inputs without grad', () => {
  const f = tg.randn([3], { requiresGrad: true });
  assert.throws(() => gradcheck((a) => a.exp(), [f]), /float64.*inputs\[0\]|inputs\[0\].*float32/);
  const x = randn([3]);
  assert.throws(() => gradcheck((a) => a.exp(), [x], { epsilon: 1e-3 } as never), /Unknown option 'epsilon'/);
  assert.throws(() => gradcheck((a) => a.exp(), [x], { eps: -1 }), /eps/);
  assert.throws(() => gradcheck((a) => a.exp(), [x.detach()]), /no input requires grad/);
});

test('gradcheck frees what it makes', () => {
  const x = randn([2, 3, 4, 4]);
  const w = randn([2, 3, 3, 3]);
  const before = tg.memory().tensors;
  gradcheck((a, b) => tg.F.conv2d(a, b), [x, w]);
  gradgradcheck((a, b) => tg.F.conv2d(a, b), [x, w]);
  assert.is(tg.memory().tensors, before);
});

test.run();
