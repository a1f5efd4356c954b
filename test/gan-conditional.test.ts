// Conditional GAN blocks by behaviour: the projection term equals the inner product computed
// here from the parts, gradients reach exactly the embedding rows used (with the analytic
// values), the conditional generator depends on its label, AC-GAN's loss equals the
// cross-entropy computed by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Embedding, Linear, Sequential, Tanh } from '../lib/nn/layers';
import {
  ProjectionCritic, AuxiliaryClassifierCritic, conditionalDcganGenerator, projectionDcganCritic, dcganCriticFeatures,
} from '../lib/gan/conditional';
import { auxiliaryClassifierLoss } from '../lib/gan/losses';
import { r1Penalty } from '../lib/gan/penalties';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

const labels = (a: number[]): Tensor => tg.tensor(Float64Array.from(a), [a.length], { dtype: 'int64' });
const rows = (t: Tensor): number[][] => {
  const [n, d] = t.shape;
  const a = t.toArray();
  return Array.from({ length: n }, (_, i) => a.slice(i * d, (i + 1) * d));
};
const near = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('Embedding: rows of the weight; the gradient lands on the rows looked up, summed', () => {
  tg.manualSeed(1);
  const e = new Embedding(5, 3, { dtype: 'float64' });
  assert.equal(Object.keys(e.stateDict()), ['weight']);
  const w = rows(e.weight);
  const y = labels([4, 0, 4]);
  const out = e.forward(y);
  assert.equal(out.shape, [3, 3]);
  assert.equal(rows(out), [w[4], w[0], w[4]]);
  assert.equal(e.forward(tg.tensor(Float64Array.from([1, 2, 3, 4]), [2, 2], { dtype: 'int64' })).shape, [2, 2, 3]);
  out.sum().backward();
  assert.equal(rows(e.weight.grad!), [[1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0], [2, 2, 2]]);
  assert.throws(() => e.forward(tg.zeros([2])), /integer \(int64\) Tensor of indices for index but received .*float32 tensor/);
});

test('ProjectionCritic: D(x, y) = linear(φ(x)) + <embed(y), φ(x)>, and its gradient w.r.t. the embedding', () => {
  tg.manualSeed(2);
  const features = new Sequential(new Linear(3, 4, { dtype: 'float64' }), new Tanh());
  const d = new ProjectionCritic(features, 4, 3, { dtype: 'float64' });
  assert.equal(Object.keys(d.stateDict()), ['features.0.weight', 'features.0.bias', 'linear.weight', 'linear.bias', 'embedding.weight']);
  const x = tg.randn([5, 3], { dtype: 'float64' });
  const y = labels([2, 0, 2, 1, 0]);
  const out = d.forward(x, y);
  assert.equal(out.shape, [5]);
  // independently: h, ψ and V read out as numbers
  const h = rows(tg.noGrad(() => features.forward(x)));
  const psiW = d.child('linear').param('weight').toArray();
  const psiB = d.child('linear').param('bias').item();
  const V = rows(d.child('embedding').param('weight'));
  const yv = [2, 0, 2, 1, 0];
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
  out.toArray().forEach((v, i) => near(v, dot(psiW, h[i]) + psiB + dot(V[yv[i]], h[i]), `D[${i}]`));
  // d(sum D)/dV_k = sum of h_i over samples of class k
  out.sum().backward();
  const gV = rows(d.child('embedding').param('weight').grad!);
  for (let k = 0; k < 3; k++) {
    const want = [0, 1, 2, 3].map((j) => yv.reduce((s, c, i) => s + (c === k ? h[i][j] : 0), 0));
    gV[k].forEach((g, j) => near(g, want[j], `dV[${k}][${j}]`));
  }
  // an unused class gets no gradient
  d.zeroGrad();
  d.forward(x, labels([0, 0, 0, 0, 0])).sum().backward();
  assert.ok(rows(d.child('embedding').param('weight').grad!)[1].every((g) => g === 0));
  assert.throws(() => d.forward(x, labels([0, 1])), /shape \[5\] \(one class in \[0, 3\) per sample\) for labels/);
});

test('projectionDcganCritic with spectral norm: shapes, keys, the penalties work through a label-bound closure', () => {
  tg.manualSeed(3);
  const d = projectionDcganCritic({ numClasses: 10, baseWidth: 2, spectralNorm: true });
  const keys = Object.keys(d.stateDict());
  assert.ok(keys.includes('linear.weight_orig') && keys.includes('embedding.weight_u') && keys.includes('features.0.weight_orig'), keys.join());
  const x = tg.rand([4, 1, 28, 28]);
  const y = labels([1, 9, 3, 3]);
  const out = d.forward(x, y);
  assert.equal(out.shape, [4]);
  const r = r1Penalty((v: Tensor) => d.forward(v, y), x);
  r.penalty.backward();
  const g = d.child('embedding').param('weight_orig').grad!;
  assert.ok(rows(g)[3].some((v) => v !== 0), 'R1 reaches the embedding of a used class');
  assert.equal(dcganCriticFeatures({ baseWidth: 2, imageSize: 64 }).featureDim, 16 * 16);
});

test('conditionalDcganGenerator: z and the label embedding make the image; the label matters; the gradient reaches the embedding', () => {
  tg.manualSeed(4);
  const g = conditionalDcganGenerator({ numClasses: 3, noiseDim: 6, embeddingDim: 2, baseWidth: 2 });
  assert.equal(g.noiseShape, [6, 1, 1]);
  assert.ok(Object.keys(g.stateDict())[0] === 'embedding.weight');
  assert.equal(g.child('net').child('0').param('weight').shape, [8, 8, 4, 4], 'the first layer takes noiseDim + embeddingDim channels');
  g.eval();
  const z = tg.randn([2, 6, 1, 1]);
  const a = g.forward(z, labels([0, 0]));
  const b = g.forward(z, labels([1, 2]));
  assert.equal(a.shape, [2, 1, 28, 28]);
  assert.ok(a.toArray().some((v, i) => Math.abs(v - b.toArray()[i]) > 1e-6), 'different labels, different images');
  g.train();
  g.forward(tg.randn([3, 6, 1, 1]), labels([2, 2, 0])).square().sum().backward();
  const gr = rows(g.child('embedding').param('weight').grad!);
  assert.ok(gr[2].some((v) => v !== 0) && gr[0].some((v) => v !== 0), 'used rows get gradient');
  assert.ok(gr[1].every((v) => v === 0), 'the unused row does not');
  assert.throws(() => conditionalDcganGenerator({ numClasses: 0 } as never), /positive integer for conditionalDcganGenerator\(\) options.numClasses/);
});

test('AC-GAN: the auxiliary loss is the mean cross-entropy; the critic gives (scores, logits); nothing leaks', () => {
  const logits = [[2, -1, 0.5], [0, 0, 0], [-3, 4, 1]];
  const y = [0, 2, 1];
  const l = tg.tensor(logits, { dtype: 'float64' });
  const want = logits.reduce((s, r, i) => s + (Math.log(r.reduce((a, v) => a + Math.exp(v), 0)) - r[y[i]]), 0) / 3;
  near(auxiliaryClassifierLoss(l, labels(y)).item(), want, 'cross-entropy');
  assert.throws(() => auxiliaryClassifierLoss(l, labels([0, 1])), /shape \[3\] for labels/);
  assert.throws(() => auxiliaryClassifierLoss(l, tg.zeros([3])), /int64 Tensor of class indices for labels/);
  tg.manualSeed(5);
  const { features, featureDim } = dcganCriticFeatures({ baseWidth: 2, normalization: 'none' });
  const d = new AuxiliaryClassifierCritic(features, featureDim, 10);
  const x = tg.rand([3, 1, 28, 28]);
  const [scores, cls] = d.forward(x);
  assert.equal(scores.shape, [3]);
  assert.equal(cls.shape, [3, 10]);
  scores.dispose();
  cls.dispose();
  const p = new ProjectionCritic(new Sequential(new Linear(3, 4), new Tanh()), 4, 3);
  const xs = tg.randn([2, 3]);
  const ys = labels([0, 1]);
  p.forward(xs, ys).dispose();
  const before = tg.memory().tensors;
  p.forward(xs, ys).dispose();
  const [s2, c2] = d.forward(x);
  s2.dispose();
  c2.dispose();
  assert.is(tg.memory().tensors, before, 'live tensors');
});

test.run();
