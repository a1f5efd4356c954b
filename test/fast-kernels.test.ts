// torch-gan's CPU kernel substitutions (native/cpu_kernels.cc) give the values libtorch's own
// kernels give: forward, gradients, and gradients of gradients (the penalties). Each case runs
// twice from the same inputs: with every substitution on (setFastKernels('all'), on any libtorch
// version, whatever its table of defaults says) and with all off, which is exactly what PyTorch
// runs. The first test proves by the grad_fn names that the 'all' run takes the substituted path
// and the other libtorch's, so no comparison passes trivially. Finite-difference checks of the
// same paths are in gradcheck.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { gradientPenalty } from '../lib/gan/penalties';
import { errorMessage } from './helpers/errors';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); tg.setFastKernels(true); });

function maxRelDiff(a: Tensor, b: Tensor): number {
  return tg.tidy(() => {
    const scale = Math.max(b.abs().max().item(), 1e-6);
    return a.sub(b).abs().max().item() / scale;
  });
}

/** Runs fn with the substitutions on and off; returns both results as arrays of kept tensors. */
function onAndOff(fn: () => Tensor[]): [Tensor[], Tensor[]] {
  const run = (on: boolean): Tensor[] => {
    tg.setFastKernels(on ? 'all' : false);
    tg.manualSeed(7);
    return tg.tidy(() => fn().map((t) => tg.keep(t.detach())));
  };
  try {
    return [run(true), run(false)];
  } finally {
    tg.setFastKernels(true);
  }
}

function assertSame(label: string, fast: Tensor[], plain: Tensor[], tol: number): void {
  assert.is(fast.length, plain.length);
  fast.forEach((f, i) => {
    assert.equal(f.shape, plain[i].shape, `${label}[${i}] shape`);
    const d = maxRelDiff(f, plain[i]);
    assert.ok(d <= tol, `${label}[${i}]: fast and plain kernels differ by ${d} (relative), tolerance ${tol}`);
  });
  [...fast, ...plain].forEach((t) => t.dispose());
}

// The grad_fn each op records: the substitution's custom node under 'all', libtorch's own when off.
test("each substitution is the path that runs under setFastKernels('all'), and libtorch's when off", () => {
  const cases: [string, () => Tensor, RegExp][] = [
    ['conv2d, 1 channel (own backward)', () => tg.F.conv2d(tg.randn([2, 1, 8, 8]).requiresGrad_(true), tg.randn([4, 1, 3, 3]), null, {}), /CppNode<tg::Conv2dFn>/],
    ['conv2d, kernel = input (matrix product)', () => tg.F.conv2d(tg.randn([2, 3, 4, 4]).requiresGrad_(true), tg.randn([5, 3, 4, 4]), null, {}), /^ViewBackward0$/],
    ['convTranspose2d (as a convolution gradient)', () => tg.F.convTranspose2d(tg.randn([2, 4, 5, 5]).requiresGrad_(true), tg.randn([4, 3, 3, 3]), null, { stride: 2 }), /CppNode<tg::ConvInputGrad>/],
    ['instanceNorm (fused rows)', () => tg.F.instanceNorm(tg.randn([2, 3, 8, 8]).requiresGrad_(true)), /CppNode<.*InstanceNormFn>/],
    ['leakyRelu (own double backward)', () => tg.F.leakyRelu(tg.randn([4, 8, 48, 48]).requiresGrad_(true), 0.2), /CppNode<.*LeakyReluFn>/],
  ];
  try {
    for (const [name, make, fastNode] of cases) {
      tg.setFastKernels('all');
      tg.tidy(() => assert.match(String(make().gradFn), fastNode, `${name}: the substituted path under 'all'`));
      tg.setFastKernels(false);
      tg.tidy(() => {
        const node = String(make().gradFn);
        assert.not.match(node, fastNode, `${name}: libtorch's own kernel when off (got ${node})`);
      });
    }
  } finally {
    tg.setFastKernels(true);
  }
});

const convCases = [
  { name: '1 channel, 4x4 stride 2 padding 1 (an MNIST critic)', x: [8, 1, 28, 28], w: [16, 1, 4, 4], o: { stride: 2, padding: 1 } },
  { name: '3 channels, 3x3 stride 1 padding 1, bias', x: [4, 3, 16, 16], w: [8, 3, 3, 3], o: { padding: 1 }, bias: true },
  { name: '3 channels, 5x3 stride [2, 1]', x: [3, 3, 12, 9], w: [4, 3, 5, 3], o: { stride: [2, 1] as [number, number] } },
  // no bias, more than 3 channels: the double backward's weight term by convolution_backward (a critic's second layer)
  { name: '32 channels, 4x4 stride 2 padding 1 (a critic\'s second layer)', x: [8, 32, 14, 14], w: [64, 32, 4, 4], o: { stride: 2, padding: 1 } },
  { name: '6 channels, 3x3 stride 2 padding 1', x: [4, 6, 7, 7], w: [5, 6, 3, 3], o: { stride: 2, padding: 1 } },
  // a kernel covering the whole input: a matrix product (a DCGAN critic's last layer)
  { name: 'kernel = input size (4x4), 128 channels, to 1 score', x: [6, 128, 4, 4], w: [1, 128, 4, 4], o: {} },
  { name: 'kernel = input size (3x5), stride 2, bias', x: [5, 7, 3, 5], w: [4, 7, 3, 5], o: { stride: 2 }, bias: true },
];

for (const c of convCases) {
  test(`conv2d ${c.name}: same output, gradients and second-order gradients with and without the substitutions`, () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const [fast, plain] = onAndOff(() => {
        const x = tg.randn(c.x, { dtype }).requiresGrad_(true);
        const w = tg.randn(c.w, { dtype }).mul(0.2).requiresGrad_(true);
        const b = c.bias ? tg.randn([c.w[0]], { dtype }).requiresGrad_(true) : null;
        const y = tg.F.conv2d(x, w, b, c.o);
        const gy = tg.randnLike(y);
        const inputs = b ? [x, w, b] : [x, w];
        const grads = tg.autograd.grad(y, inputs, { gradOutputs: gy, createGraph: true }) as Tensor[];
        // a penalty-like function of the gradients, differentiated again: with respect to the
        // weight (through the input gradient) and the input (through the weight gradient)
        const second = tg.autograd.grad(grads[0].square().sum().add(grads[1].square().sum()), [w, x]) as Tensor[];
        return [y, ...grads, ...second];
      });
      assertSame(`${c.name} ${dtype}`, fast, plain, dtype === 'float64' ? 1e-12 : 1e-5);
    }
  });
}

// The first layer's forward runs by im2col (_slow_conv2d_forward) inside the double backward
// too (ConvInputGrad's and ConvWeightGrad's backward), so its own derivative is reached at the
// third order: differentiate a function of the penalty-like second-order gradients once more.
test('conv2d with 1 input channel: third-order gradients with and without the substitutions', () => {
  const [fast, plain] = onAndOff(() => {
    const opts = { dtype: 'float64' as const };
    const x = tg.randn([3, 1, 10, 10], opts).requiresGrad_(true);
    const w = tg.randn([4, 1, 4, 4], opts).mul(0.3).requiresGrad_(true);
    const y = tg.F.conv2d(x, w, null, { stride: 2, padding: 1 });
    const [gx, gw] = tg.autograd.grad(y.square().sum(), [x, w], { createGraph: true }) as Tensor[];
    const [sw, sx] = tg.autograd.grad(gx.square().sum().add(gw.square().sum()), [w, x], { createGraph: true }) as Tensor[];
    return tg.autograd.grad(sw.square().sum().add(sx.mul(x).sum()), [x, w]) as Tensor[];
  });
  assertSame('third order', fast, plain, 1e-10);
});

const convTCases = [
  { name: '16 -> 8 channels, 4x4 stride 2 padding 1', x: [4, 16, 7, 7], w: [16, 8, 4, 4], o: { stride: 2, padding: 1 } },
  // few output channels: the transposed convolution by the im2col kernel when a gradient is recorded
  { name: '8 -> 1 channel, 4x4 stride 2 padding 1 (a generator\'s last layer)', x: [4, 8, 7, 7], w: [8, 1, 4, 4], o: { stride: 2, padding: 1 } },
  { name: '6 -> 3 channels, 3x3 stride 2 padding 1 output padding 1, bias', x: [3, 6, 5, 5], w: [6, 3, 3, 3], o: { stride: 2, padding: 1, outputPadding: 1 }, bias: true },
];

for (const c of convTCases) {
  test(`convTranspose2d ${c.name}: same output, gradients and second-order gradients with and without the substitutions`, () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const [fast, plain] = onAndOff(() => {
        const x = tg.randn(c.x, { dtype }).requiresGrad_(true);
        const w = tg.randn(c.w, { dtype }).mul(0.1).requiresGrad_(true);
        const b = c.bias ? tg.randn([c.w[1]], { dtype }).requiresGrad_(true) : null;
        const y = tg.F.convTranspose2d(x, w, b, c.o);
        const inputs = b ? [x, w, b] : [x, w];
        const grads = tg.autograd.grad(y.tanh().sum(), inputs, { createGraph: true }) as Tensor[];
        // differentiated again, as a penalty on the generator's gradients would be
        const second = tg.autograd.grad(grads[0].square().sum().add(grads[1].square().sum()), [x, w]) as Tensor[];
        // without a recorded gradient (sampling): the forward alone
        const sample = tg.noGrad(() => tg.F.convTranspose2d(x, w, b, c.o));
        return [y, ...grads, ...second, sample];
      });
      assertSame(`convTranspose2d ${c.name} ${dtype}`, fast, plain, dtype === 'float64' ? 1e-12 : 1e-5);
    }
  });
}

test('convTranspose2d of a 1x1 input (a generator\'s first layer): same output, gradients and second-order gradients', () => {
  for (const bias of [false, true]) {
    const [fast, plain] = onAndOff(() => {
      const z = tg.randn([5, 100, 1, 1]).requiresGrad_(true);
      const w = tg.randn([100, 16, 4, 4]).mul(0.1).requiresGrad_(true);
      const b = bias ? tg.randn([16]).requiresGrad_(true) : null;
      const y = tg.F.convTranspose2d(z, w, b, { stride: 1, padding: 0 });
      const inputs = b ? [z, w, b] : [z, w];
      const grads = tg.autograd.grad(y.tanh().sum(), inputs, { createGraph: true }) as Tensor[];
      const [second] = tg.autograd.grad(grads[0].square().sum(), [w]) as Tensor[];
      return [y, ...grads, second];
    });
    assertSame(`convTranspose2d 1x1 input, bias ${bias}`, fast, plain, 1e-5);
  }
});

test('instanceNorm from the batch statistics (fused rows; affine part by addcmul): same output, gradients and second-order gradients', () => {
  const shapes = [[6, 16, 7, 7], [5, 8, 4, 4], [4, 3, 10]];
  for (const shape of shapes) {
    for (const affine of [false, true]) {
      for (const dtype of ['float32', 'float64'] as const) {
        const [fast, plain] = onAndOff(() => {
          const x = tg.randn(shape, { dtype }).mul(3).add(1).requiresGrad_(true);
          const w = affine ? tg.randn([shape[1]], { dtype }).requiresGrad_(true) : undefined;
          const b = affine ? tg.randn([shape[1]], { dtype }).requiresGrad_(true) : undefined;
          const y = tg.F.instanceNorm(x, { weight: w, bias: b });
          const gy = tg.randnLike(y);
          const inputs = [x, ...(w && b ? [w, b] : [])];
          const grads = tg.autograd.grad(y, inputs, { gradOutputs: gy, createGraph: true }) as Tensor[];
          // (the bias does not reach the input gradient: allowUnused, nulls dropped alike on both sides)
          const second = tg.autograd.grad(grads[0].square().sum(), inputs, { allowUnused: true }).filter((t): t is Tensor => t !== null);
          return [y, ...grads, ...second];
        });
        assertSame(`instanceNorm [${shape}] affine ${affine} ${dtype}`, fast, plain, dtype === 'float64' ? 1e-10 : 2e-4);
      }
    }
  }
});

// libtorch 1.13's own third order of instance_norm (through batch_norm's double backward) is
// wrong (it disagrees with finite differences), so the fused path's is checked against those.
// (libtorch's own third order of instance_norm disagrees with finite differences, on 1.13 and 2.13
// alike: this checks the fused path's, under 'all' on every version.)
test('instanceNorm (fused rows): third-order gradients (the differentiable double backward) match finite differences', () => {
  tg.setFastKernels('all');
  tg.manualSeed(7);
  const opts = { dtype: 'float64' as const };
  const x0 = tg.randn([2, 2, 3, 3], opts).mul(2).add(0.5);
  const r1 = tg.randn([2, 2, 3, 3], opts);
  const r2 = tg.randn([2, 2, 3, 3], opts);
  const r3 = tg.randn([2, 2, 3, 3], opts);
  // S(x) = <r2, ∇x (<r3, g1> + |g1|²)>, g1 = ∇x <r1, norm(x)²>: a function of the double backward
  // (the square makes the normalisation's output gradient depend on x, so both terms of the
  // double backward, by the output gradient and by the input, are differentiated again)
  // (r3 keeps the incoming gradient off the span of the normalised input: |g1|² alone is orthogonal to it)
  const S = (x: Tensor, createGraph: boolean): Tensor => {
    const [g1] = tg.autograd.grad(tg.F.instanceNorm(x).square().mul(r1).sum(), [x], { createGraph: true }) as Tensor[];
    const [g2] = tg.autograd.grad(g1.mul(r3).add(g1.square()).sum(), [x], { createGraph }) as Tensor[];
    return g2.mul(r2).sum();
  };
  tg.tidy(() => {
    const x = x0.clone().requiresGrad_(true);
    const analytic = (tg.autograd.grad(S(x, true), [x]) as Tensor[])[0].view(-1).toArray() as number[];
    const h = 1e-5;
    for (const i of [0, 4, 13, 30]) {
      const at = (d: number): number => {
        const xi = x0.clone();
        xi.view(-1).narrow(0, i, 1).add_(d);
        return S(xi.requiresGrad_(true), false).item();
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      assert.ok(Math.abs(analytic[i] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `third order at ${i}: analytic ${analytic[i]}, finite difference ${fd}`);
    }
    assert.match(String(tg.F.instanceNorm(x).gradFn), /InstanceNormFn/, 'the fused path ran');
  });
  [x0, r1, r2, r3].forEach((t) => t.dispose());
  tg.setFastKernels(true);
});

test('instanceNorm (fused rows): a large mean, a non-contiguous input, maps of one element', () => {
  const cases: [string, () => Tensor][] = [
    // the one-pass variance is shifted by a value of the row: no cancellation from a mean of 1e4
    ['mean 1e4', () => tg.randn([2, 3, 8, 8]).add(1e4)],
    ['transposed', () => tg.randn([2, 3, 6, 5]).transpose(2, 3)],
  ];
  for (const [name, make] of cases) {
    const [fast, plain] = onAndOff(() => {
      const x = make().requiresGrad_(true);
      const y = tg.F.instanceNorm(x);
      const [g] = tg.autograd.grad(y.mul(tg.randnLike(y)).sum(), [x], { createGraph: true }) as Tensor[];
      const [gg] = tg.autograd.grad(g.square().sum(), [x]) as Tensor[];
      return [y, g, gg];
    });
    assertSame(`instanceNorm ${name}`, fast, plain, 2e-3);
  }
  // one element per map: x − mean is exactly 0, and so is its gradient (libtorch rounds to ~1e-6)
  tg.setFastKernels('all');
  tg.tidy(() => {
    const x = tg.randn([4, 3, 1, 1]).requiresGrad_(true);
    const y = tg.F.instanceNorm(x);
    assert.match(String(y.gradFn), /InstanceNormFn/, 'the fused path ran');
    const [g] = tg.autograd.grad(y.mul(tg.randnLike(y)).sum(), [x]) as Tensor[];
    assert.is(y.abs().max().item(), 0);
    assert.is(g.abs().max().item(), 0);
  });
  tg.setFastKernels(true);
});

test('leakyRelu: same output, gradients and second-order gradients (zero by the input, as libtorch\'s zeros_like)', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const [fast, plain] = onAndOff(() => {
      // 73,728 elements: the own double backward applies from 65,536 on
      const x = tg.randn([4, 8, 48, 48], { dtype }).requiresGrad_(true);
      const w = tg.randn([8, 8, 3, 3], { dtype }).mul(0.2).requiresGrad_(true);
      // a conv before the activation, so the second order reaches the weight through it
      const y = tg.F.leakyRelu(tg.F.conv2d(x, w, null, { padding: 1 }), 0.2);
      // (squared: the gradient arriving at the activation depends on x and w, so its own gradient is taken too)
      const [gx, gw] = tg.autograd.grad(y.square().mul(tg.randnLike(y)).sum(), [x, w], { createGraph: true }) as Tensor[];
      const [dx, dw] = tg.autograd.grad(gx.square().sum().add(gw.square().sum()), [x, w]) as Tensor[];
      // piecewise linear in x alone: the gradient of its gradient is zero, reported as zeros (not "unused")
      const lin = tg.F.leakyRelu(x, 0.2);
      const [gl] = tg.autograd.grad(lin.sum(), [x], { createGraph: true }) as Tensor[];
      const [zero] = tg.autograd.grad(gl.sum(), [x]) as Tensor[];
      return [y, gx, gw, dx, dw, zero];
    });
    assert.is(fast[5].abs().max().item(), 0);
    assertSame(`leakyRelu ${dtype}`, fast, plain, dtype === 'float64' ? 1e-12 : 1e-5);
  }
});

test('autograd.grad: an input outside the graph is still refused without allowUnused, and null with it', () => {
  const x = tg.randn([3]).requiresGrad_(true);
  const z = tg.randn([2]).requiresGrad_(true);
  assert.match(errorMessage(() => tg.autograd.grad(x.square().sum(), [z])), /inputs\[0\] is not used in the graph/);
  const [none] = tg.autograd.grad(x.square().sum(), [z], { allowUnused: true });
  assert.is(none, null);
  x.dispose();
  z.dispose();
});

test('WGAN-GP penalty through a 1-channel critic: same penalty and weight gradients with and without the substitutions', () => {
  const [fast, plain] = onAndOff(() => {
    const critic = new tg.nn.Sequential(
      new tg.nn.Conv2d(1, 8, 4, { stride: 2, padding: 1, bias: false }),
      new tg.nn.LeakyReLU(0.2),
      new tg.nn.Conv2d(8, 16, 4, { stride: 2, padding: 1, bias: false }),
      new tg.nn.InstanceNorm2d(16),
      new tg.nn.LeakyReLU(0.2),
      new tg.nn.Flatten(),
      new tg.nn.Linear(16 * 7 * 7, 1),
    );
    const real = tg.rand([6, 1, 28, 28]).mul(2).sub(1);
    const fake = tg.rand([6, 1, 28, 28]).mul(2).sub(1);
    const { penalty, gradNorms } = gradientPenalty(critic, real, fake);
    const loss = penalty.add(critic.forward(fake).mean()).sub(critic.forward(real).mean());
    const params = critic.parameters();
    const grads = tg.autograd.grad(loss, params) as Tensor[];
    return [penalty, gradNorms, ...grads];
  });
  assertSame('penalty', fast, plain, 1e-5);
});

test('setFastKernels: a non-boolean is refused, naming the parameter; diagnostics report the setting', () => {
  const msg = errorMessage(() => tg.setFastKernels('no' as unknown as boolean));
  assert.match(msg, /setFastKernels\(\) enabled/);
  assert.match(msg, /a boolean or 'all'/);
  const all = ['matrixProductConv', 'convTransposeAsConvGradient', 'ownConvBackward', 'fusedInstanceNorm', 'leakyReluDoubleBackward'];
  // the table of native/cpu_kernels.cc (DefaultOn), from bench/kernels.ts on each version (docs/benchmarks.md)
  const libtorch1 = tg.diagnostics().libtorch.version.startsWith('1.');
  const defaults = libtorch1 ? all : all.filter((k) => k !== 'leakyReluDoubleBackward');
  try {
    tg.setFastKernels(false);
    assert.is(tg.diagnostics().fastKernels, false);
    assert.equal(tg.diagnostics().fastKernelList, []);
    tg.setFastKernels('all');
    assert.equal(tg.diagnostics().fastKernelList, all);
  } finally {
    tg.setFastKernels(true);
  }
  assert.equal(tg.diagnostics().fastKernelList, defaults, `this libtorch's defaults (${tg.diagnostics().libtorch.version})`);
});

test.run();
