// DiffAugment against the authors' algorithm replayed in PyTorch 1.13 (test/fixtures/
// gan-extras.json, made by scripts/fixtures/make_gan_extra_fixtures.py): outputs and input
// gradients for fixed draws, the same outputs from the same torch seed, finite differences for
// the colour operations, a hand-made shift, and the critic wrapper with R1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Rng } from '../lib/data/random';
import { gradcheck } from '../lib/autograd';
import { diffAugment, parseDiffAugmentPolicy, withDiffAugment, DiffAugmentDraws } from '../lib/gan/diffaugment';
import { r1Penalty, findBatchNorm } from '../lib/gan/penalties';
import { Sequential, Conv2d, BatchNorm2d, Flatten, LeakyReLU } from '../lib/nn/layers';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

type Entry = { shape: number[]; data: number[] };
type Case = { policy: string; seed: number; x: Entry; draws: DiffAugmentDraws; out: Entry; gradWeights: Entry; grad: Entry };
const cases = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'gan-extras.json'), 'utf8')).diffaugment as Case[];
const f64 = (e: Entry, requiresGrad = false): Tensor => tg.tensor(Float64Array.from(e.data), e.shape, { dtype: 'float64', requiresGrad });

function close(t: Tensor, e: Entry, tol: number, what: string): void {
  assert.equal(t.shape, e.shape, `${what}: shape`);
  const a = t.toArray();
  a.forEach((v, i) => {
    if (!(Math.abs(v - e.data[i]) <= tol)) assert.unreachable(`${what}[${i}]: ${v} vs ${e.data[i]}`);
  });
}

for (const c of cases) {
  test(`${c.policy} on [${c.x.shape}]: fixed draws give the reference's output and input gradient`, () => {
    const x = f64(c.x, true);
    const y = diffAugment(x, c.policy, { draws: c.draws });
    close(y, c.out, 1e-12, 'output');
    const [g] = tg.autograd.grad(y.mul(f64(c.gradWeights)).sum(), x);
    close(g!, c.grad, 1e-12, 'd/dx');
  });

  test(`${c.policy} on [${c.x.shape}]: torch's generator after manualSeed(${c.seed}) draws what the reference drew`, () => {
    tg.manualSeed(c.seed);
    close(diffAugment(f64(c.x), c.policy), c.out, 1e-12, 'output');
  });
}

test('translation is a shift with zero fill, cutout a clipped box of zeros (hand-made case)', () => {
  // one 1x4x4 image with values 1..16; r = int(4/8 + 0.5) = 1
  const x = tg.arange(1, 17, 1, { dtype: 'float64' }).reshape(1, 1, 4, 4);
  const y = diffAugment(x, 'translation', { draws: { translationX: [1], translationY: [-1] } }).toArray();
  // out[i][j] = x[i + 1][j - 1]
  const want: number[] = [];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) want.push(i + 1 < 4 && j - 1 >= 0 ? (i + 1) * 4 + (j - 1) + 1 : 0);
  assert.equal(y, want);
  // cutout 2x2 centred at (0, 3): rows [-1, 1) ∩ [0, 4) = {0}, cols [2, 4) -> (0, 2), (0, 3)
  const z = diffAugment(x, 'cutout', { draws: { cutoutX: [0], cutoutY: [3] } }).toArray();
  assert.equal(z, x.toArray().map((v, k) => (k === 2 || k === 3 ? 0 : v)));
  assert.throws(() => diffAugment(x, 'translation', { draws: { translationX: [2], translationY: [0] } }), /integers in \[-1, 2\)/);
});

test('the colour operations agree with finite differences; translation and cutout too', () => {
  tg.manualSeed(5);
  const x = tg.randn([2, 3, 8, 6], { dtype: 'float64', requiresGrad: true });
  const draws = { brightness: [0.2, 0.9], saturation: [0.7, 0.1], contrast: [0.4, 0.95], translationX: [1, -1], translationY: [0, 1], cutoutX: [1, 8], cutoutY: [2, 5] };
  assert.ok(gradcheck((v) => diffAugment(v, 'color', { draws }), [x]));
  assert.ok(gradcheck((v) => diffAugment(v, 'translation,cutout,color', { draws }), [x]));
});

test('shapes, dtype and device are kept for any batch; each call draws anew; a seeded Rng reproduces', () => {
  for (const shape of [[1, 3, 8, 8], [5, 1, 28, 28], [4, 3, 32, 32]]) {
    const x = tg.rand(shape);
    const y = diffAugment(x, 'color,translation,cutout');
    assert.equal(y.shape, shape);
    assert.is(y.dtype, 'float32');
    assert.ok(y.isContiguous());
  }
  const x = tg.rand([4, 3, 8, 8]);
  const a = diffAugment(x, 'color,translation,cutout').toArray();
  const b = diffAugment(x, 'color,translation,cutout').toArray();
  assert.ok(a.some((v, i) => v !== b[i]), 'fresh draws per call');
  const r1 = diffAugment(x, 'color,cutout', { rng: new Rng(9) }).toArray();
  const r2 = diffAugment(x, 'color,cutout', { rng: new Rng(9) }).toArray();
  assert.equal(r1, r2);
  const same = diffAugment(x, '');
  assert.equal(same.toArray(), x.toArray());
  assert.is.not(same, x);
  assert.equal(parseDiffAugmentPolicy(' color, cutout '), ['color', 'cutout']);
});

test('withDiffAugment: the critic sees augmented batches, R1 reaches the weights through the augmentation, batch norm is still found, nothing leaks', () => {
  tg.manualSeed(6);
  const critic = new Sequential(new Conv2d(3, 4, 3, { stride: 2, padding: 1, dtype: 'float64' }), new LeakyReLU(0.2), new Conv2d(4, 1, 4, { dtype: 'float64' }), new Flatten(0));
  const draws = { translationX: [1, 0, -1], translationY: [1, 1, 0], cutoutX: [2, 5, 7], cutoutY: [0, 3, 6] };
  const wrapped = withDiffAugment(critic, 'translation,cutout', { draws });
  const x = tg.randn([3, 3, 8, 8], { dtype: 'float64' });
  const direct = critic.forward(diffAugment(x, 'translation,cutout', { draws })).toArray();
  assert.equal(wrapped.forward(x).toArray(), direct);
  const r = r1Penalty(wrapped, x);
  r.penalty.backward();
  const gw = critic.parameters()[0].grad!;
  assert.ok(gw.toArray().some((v) => v !== 0), 'the penalty reaches the first conv');
  const bn = withDiffAugment(new Sequential(new Conv2d(3, 2, 3), new BatchNorm2d(2)), 'color');
  assert.equal(findBatchNorm(bn), ['critic.1 (BatchNorm2d)']);
  wrapped.forward(x).dispose();
  const before = tg.memory().tensors;
  tg.tidy(() => { wrapped.forward(x); });
  diffAugment(x, 'color,translation,cutout').dispose();
  diffAugment(x, 'color', { rng: new Rng(1) }).dispose();
  assert.is(tg.memory().tensors, before, 'live tensors');
});

test('bad input is refused with clear errors', () => {
  const x = tg.rand([2, 3, 8, 8]);
  assert.throws(() => diffAugment(x, 'color,flip'), /operations among 'color', 'translation', 'cutout' for policy but received string 'flip'/);
  assert.throws(() => diffAugment(tg.rand([3, 8, 8]), 'color'), /batch of images \[N, C, H, W\] for x/);
  assert.throws(() => diffAugment(tg.zeros([2, 3, 8, 8], { dtype: 'int64' }), 'color'), /floating-point Tensor for x/);
  assert.throws(() => diffAugment(x, 'color', { draws: { brightness: [0.5] } }), /array of 2 numbers in \[0, 1\) \(one per sample\) for options.draws.brightness/);
  assert.throws(() => diffAugment(x, 'color', { seed: 1 } as never), /Unknown option 'seed' for diffAugment\(\)/);
  assert.throws(() => diffAugment(x, 'color', { rng: 3 as never }), /Rng \(data.Rng\) for options.rng/);
  assert.throws(() => diffAugment(x, 'cutout', { cutoutRatio: 2 }), /number in \[0, 1\] for diffAugment\(\) options.cutoutRatio/);
});

test.run();
