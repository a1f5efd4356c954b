// Class-conditional runs in the one engine (--conditional projection | acgan): the trainer gives the
// critic the real batch's labels and draws the fakes' labels (the global batch's, as z); a run trains
// and resumes exactly with its label embeddings in the checkpoint; the sample grids have one row per
// class (row r is class r: equal to generate --class r); the label consistency of evaluate equals a
// hand count; bad input is refused naming the flag.
import { test } from 'uvu';
import { writeIdxFiles } from './helpers/idx-files';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { parseFlags } from '../lib/cli/args';
import { trainFlags, trainRun } from '../lib/cli/train-run';
import { generateFlags, generateMain } from '../lib/cli/generate';
import { evaluateCheckpoint, labelConsistencyText } from '../lib/cli/evaluate';
import { readRows } from '../lib/gan/artefacts';
import { latestCheckpoint } from '../lib/gan/checkpoint';
import { openRun, resolveRunConfig, RunConfigError } from '../lib/gan/run';
import { GanTrainer } from '../lib/gan/trainer';
import { AuxiliaryClassifierCritic, conditionalDcganGenerator, dcganCriticFeatures, projectionDcganCritic } from '../lib/gan/conditional';
import { decodePng, imageGrid } from '../lib/io/png';
import { loadSafetensors } from '../lib/io/safetensors';
import { Module } from '../lib/nn/module';
import { Adam } from '../lib/optim';
import { classifierOutputs, evaluateGenerator, labelConsistency, loadClassifier, loadMetricSplit, qualityReference } from '../lib/metrics';
import { errorMessage, errorMessageAsync } from './helpers/errors';
import { testUnless } from './helpers/skip';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-conditional-'));
const quiet = () => {};

/** MNIST-format IDX files of n images; image i has label i mod 10 and pixels (i·7 + k·3) mod 256. */
function writeIdx(dir: string, n: number): string {
  return writeIdxFiles(dir, n, (i, k) => i * 7 + k * 3, (i) => i % 10);
}

const data = writeIdx(path.join(tmp, 'idx'), 256);
const small = ['--data', data, '--limit', '256', '--base-width', '8', '--batch-size', '16', '--noise-dim', '16', '--seed', '4', '--sample-every', '2'];
const run = (...extra: string[]) => trainRun(parseFlags([...small, ...extra], trainFlags('mnist')), quiet);
const gen = (...args: string[]) => generateMain(parseFlags(args, generateFlags));

function sameTensors(a: string, b: string, what: string): void {
  const x = loadSafetensors(a);
  const y = loadSafetensors(b);
  assert.equal(Object.keys(x).sort(), Object.keys(y).sort(), what);
  const bytes = (t: tg.Tensor) => { const d = t.contiguous().data() as ArrayBufferView; return Buffer.from(d.buffer, d.byteOffset, d.byteLength); };
  for (const k of Object.keys(x)) assert.ok(tg.tidy(() => bytes(x[k]).equals(bytes(y[k]))), `${what}: ${k} differs`);
  for (const t of [...Object.values(x), ...Object.values(y)]) t.dispose();
}

// the last: with the practitioner options (EMA, critic spectral norm, DiffAugment, lazy R1), which see the label too
const RESUME_CASES = [
  ['projection', 'wgan-gp', 'embedding.weight', []],
  ['acgan', 'gan', 'classifier.weight', []],
  ['projection', 'gan', 'embedding.weight_orig', ['--ema-decay', '0.9', '--critic-spectral-norm', '--diff-augment', 'color,translation', '--r1-gamma', '1', '--reg-every', '2']],
] as const;
for (const [kind, loss, head, extra] of RESUME_CASES) {
  test(`a --conditional ${kind} run (${[loss, ...extra].join(' ')}) trains, saves the label embeddings, and resumes exactly`, async () => {
    const name = `${kind}-${loss}${extra.length ? '-features' : ''}`;
    const straight = path.join(tmp, `${name}-straight`);
    const split = path.join(tmp, `${name}-split`);
    const r = await run('--conditional', kind, '--loss', loss, ...extra, '--iters', '4', '--checkpoint-every', '2', '--out', straight);
    assert.is(r.config.conditional, kind);
    assert.is(r.config.numClasses, 10);
    assert.ok(Number.isFinite(r.last!.criticLoss) && Number.isFinite(r.last!.generatorLoss));
    await run('--conditional', kind, '--loss', loss, ...extra, '--iters', '2', '--checkpoint-every', '2', '--out', split);
    const resumed = await trainRun(parseFlags(['--iters', '4', '--out', split, '--resume'], trainFlags('mnist')), quiet);
    assert.is(resumed.config.conditional, kind); // from the checkpoint, not the flags
    const a = latestCheckpoint(path.join(straight, 'checkpoints')).dir;
    const b = latestCheckpoint(path.join(split, 'checkpoints')).dir;
    for (const f of ['generator', 'critic', 'opt_g', 'opt_d', ...(extra.length ? ['generator_ema'] : [])]) sameTensors(path.join(a, `${f}.safetensors`), path.join(b, `${f}.safetensors`), f);
    const g = loadSafetensors(path.join(a, 'generator.safetensors'));
    const c = loadSafetensors(path.join(a, 'critic.safetensors'));
    assert.equal(g['embedding.weight'].shape, [10, 10]); // the generator's label embedding (embeddingDim = numClasses)
    assert.ok(c[head] !== undefined, `critic.safetensors has ${head}`);
    for (const t of [...Object.values(g), ...Object.values(c)]) t.dispose();
    const rows = (d: string) => readRows(path.join(d, 'losses.jsonl')).map(({ seconds: _s, ...rest }) => rest);
    assert.equal(rows(split), rows(straight));
  });
}

test('the trainer gives the critic the real labels and G and D the same uniformly drawn fake labels, the global batch\'s when data-parallel', () => {
  const seen: { g: number[][]; d: number[][] } = { g: [], d: [] };
  const labelsOf = (y: tg.Tensor) => Array.from(y.to('cpu').data() as BigInt64Array, Number);
  class SpyG extends Module<[tg.Tensor, tg.Tensor], tg.Tensor> {
    noiseShape: number[];
    constructor(readonly inner: ReturnType<typeof conditionalDcganGenerator>) { super(); this.registerModule('inner', inner); this.noiseShape = inner.noiseShape!; }
    forward(z: tg.Tensor, y: tg.Tensor) { seen.g.push(labelsOf(y)); return this.inner.forward(z, y); }
  }
  class SpyD extends Module<[tg.Tensor, tg.Tensor], tg.Tensor> {
    constructor(readonly inner: ReturnType<typeof projectionDcganCritic>) { super(); this.registerModule('inner', inner); }
    forward(x: tg.Tensor, y: tg.Tensor) { seen.d.push(labelsOf(y)); return this.inner.forward(x, y); }
  }
  const realY = [3, 1, 4, 1, 5, 9, 2, 6];
  const make = (n: number, dp?: { rank: number }) => {
    tg.manualSeed(11);
    const generator = new SpyG(conditionalDcganGenerator({ imageSize: 28, noiseDim: 8, baseWidth: 4, channels: 1, numClasses: 10, normalization: 'none' }));
    const critic = new SpyD(projectionDcganCritic({ imageSize: 28, baseWidth: 4, channels: 1, numClasses: 10, normalization: 'none' }));
    return new GanTrainer({
      generator, critic, loss: 'gan', optG: new Adam(generator.parameters()), optD: new Adam(critic.parameters()), batchSize: n,
      batches: () => ({ x: tg.zeros([n, 1, 28, 28]), y: tg.tensor(BigInt64Array.from(realY.slice(0, n), BigInt), [n]) }),
      conditional: { numClasses: 10, critic: 'projection' },
      ...(dp ? { dataParallel: { shard: { rank: dp.rank, worldSize: 2 }, syncGradients: () => {}, allReduceSum: () => {} } } : {}),
    });
  };
  const one = make(8);
  one.criticStep();
  one.generatorStep();
  const [gFakeD, dReal, dFake, gFakeG, dFakeG] = [seen.g[0], seen.d[0], seen.d[1], seen.g[1], seen.d[2]];
  assert.equal(dReal, realY, 'the critic scores the real batch under its own labels');
  assert.equal(dFake, gFakeD, 'the critic scores the fakes under the labels they were generated for');
  assert.equal(dFakeG, gFakeG, 'the generator step too');
  assert.ok(new Set([...gFakeD, ...gFakeG]).size > 3, `fake labels vary: ${gFakeD} ${gFakeG}`);
  // data-parallel: rank r's fake labels are rows r, r + 2, ... of the global batch's
  for (const rank of [0, 1]) {
    seen.g = [];
    seen.d = [];
    make(4, { rank }).criticStep();
    assert.equal(seen.g[0], gFakeD.filter((_, i) => i % 2 === rank), `rank ${rank}`);
  }
});

test("AC-GAN: the critic's loss adds acganWeight × the cross-entropy on real and fake samples, the generator's on its fakes (hand-computed)", () => {
  type Call = { logits: number[][]; labels: number[] };
  let calls: Call[] = [];
  let gLabels: number[][] = [];
  const ce = (c: Call) => c.logits.reduce((s, row, i) => {
    const m = Math.max(...row);
    return s + (m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[c.labels[i]]);
  }, 0) / c.labels.length;
  class SpyD extends Module<[tg.Tensor], [tg.Tensor, tg.Tensor]> {
    constructor(readonly inner: AuxiliaryClassifierCritic) { super(); this.registerModule('inner', inner); }
    forward(x: tg.Tensor): [tg.Tensor, tg.Tensor] {
      const out = this.inner.forward(x);
      const flat = out[1].detach().toArray();
      calls.push({ logits: Array.from({ length: flat.length / 6 }, (_, i) => flat.slice(i * 6, i * 6 + 6)), labels: [] });
      return out;
    }
  }
  class SpyG extends Module<[tg.Tensor, tg.Tensor], tg.Tensor> {
    noiseShape: number[];
    constructor(readonly inner: ReturnType<typeof conditionalDcganGenerator>) { super(); this.registerModule('inner', inner); this.noiseShape = inner.noiseShape!; }
    forward(z: tg.Tensor, y: tg.Tensor) { gLabels.push(Array.from(y.data() as BigInt64Array, Number)); return this.inner.forward(z, y); }
  }
  const realY = [0, 1, 2, 3, 4, 5];
  const make = (acganWeight: number) => {
    tg.manualSeed(21);
    const generator = new SpyG(conditionalDcganGenerator({ imageSize: 28, noiseDim: 8, baseWidth: 4, channels: 1, numClasses: 6, normalization: 'none' }));
    const { features, featureDim } = dcganCriticFeatures({ imageSize: 28, baseWidth: 4, channels: 1, normalization: 'none' });
    const critic = new SpyD(new AuxiliaryClassifierCritic(features, featureDim, 6));
    tg.manualSeed(22);
    const x = tg.rand([6, 1, 28, 28]).keep();
    return new GanTrainer({
      generator, critic, loss: 'gan', optG: new Adam(generator.parameters()), optD: new Adam(critic.parameters()), batchSize: 6,
      batches: () => ({ x: x.clone(), y: tg.tensor(BigInt64Array.from(realY, BigInt), [6]) }),
      conditional: { numClasses: 6, critic: 'acgan', acganWeight },
    });
  };
  const run = (w: number, step: 'critic' | 'generator') => {
    calls = [];
    gLabels = [];
    const t = make(w);
    const loss = step === 'critic' ? t.criticStep().criticLoss : t.generatorStep();
    return { loss, calls: [...calls], gLabels: [...gLabels] };
  };
  const c0 = run(0, 'critic');
  c0.calls[0].labels = realY;
  c0.calls[1].labels = c0.gLabels[0];
  const cls = ce(c0.calls[0]) + ce(c0.calls[1]);
  assert.ok(cls > 0.5, `${cls}`);
  for (const w of [1, 2.5]) assert.ok(Math.abs(run(w, 'critic').loss - c0.loss - w * cls) < 1e-4, `critic, weight ${w}`);
  const g0 = run(0, 'generator');
  g0.calls[0].labels = g0.gLabels[0];
  const gcls = ce(g0.calls[0]);
  for (const w of [1, 2.5]) assert.ok(Math.abs(run(w, 'generator').loss - g0.loss - w * gcls) < 1e-4, `generator, weight ${w}`);
});

test('the grids of a conditional run have one row per class: latest.png and generate, whose row r is generate --class r', async () => {
  const out = path.join(tmp, 'grid');
  await run('--conditional', 'projection', '--iters', '2', '--checkpoint-every', '2', '--out', out);
  const ckpt = path.join(out, 'checkpoints');
  const latest = fs.readFileSync(path.join(out, 'latest.png'));
  const cell = 28 + 2;
  const strip = (img: ReturnType<typeof decodePng>, r: number) => Buffer.from(img.data.subarray(r * cell * img.width * 4, ((r + 1) * cell + 2) * img.width * 4));
  // latest.png: the reopened run's own grid; row r = the generator on the 8 fixed z with label r
  const again = await openRun({}, { resume: ckpt });
  try {
    assert.ok(Buffer.from(again.fixedNoiseGrid()).equals(latest), 'latest.png is the per-class grid of the last step');
    const grid = decodePng(latest);
    assert.is(grid.width, 8 * cell + 2);
    assert.is(grid.height, 10 * cell + 2);
    const z = again.fixedNoise.narrow(0, 0, 8);
    for (const r of [0, 3, 9]) {
      const y = tg.tensor(new BigInt64Array(8).fill(BigInt(r)), [8]);
      const x = again.trainer.sample(8, z, y);
      assert.ok(strip(decodePng(imageGrid(x, { nrow: 8 })), 0).equals(strip(grid, r)), `latest.png row ${r}`);
      x.dispose();
      y.dispose();
    }
    z.dispose();
  } finally {
    again.dispose();
  }
  // generate: the per-class grid's row r equals generate --class r --n 8 with the same seed
  const all = path.join(tmp, 'all.png');
  gen('--checkpoint', ckpt, '--seed', '5', '--out', all);
  const g = decodePng(fs.readFileSync(all));
  assert.is(g.height, 10 * cell + 2);
  const rows: Buffer[] = [];
  for (let r = 0; r < 10; r++) {
    const one = path.join(tmp, `class-${r}.png`);
    gen('--checkpoint', ckpt, '--seed', '5', '--class', String(r), '--n', '8', '--out', one);
    const c = decodePng(fs.readFileSync(one));
    assert.is(c.height, cell + 2);
    assert.ok(strip(c, 0).equals(strip(g, r)), `row ${r} of the grid is generate --class ${r}`);
    rows.push(strip(g, r));
  }
  assert.ok(new Set(rows.map((b) => b.toString('hex'))).size > 1, 'the rows differ: the label reaches the generator');
});

test("the projection critic's label embedding starts Glorot-uniform (as SNGAN's code), not Embedding's N(0, 1) that swamps the score", () => {
  tg.manualSeed(2);
  const d = projectionDcganCritic({ imageSize: 28, baseWidth: 32, channels: 1, numClasses: 10 });
  const w = d.child('embedding').param('weight');
  const bound = Math.sqrt(6 / (10 + d.featureDim));
  const [lo, hi] = tg.tidy(() => [w.min().item(), w.max().item()]);
  assert.ok(lo >= -bound && hi <= bound && hi > 0.9 * bound && lo < -0.9 * bound, `[${lo}, ${hi}] vs ±${bound}`);
  d.dispose();
});

test('bad input: no labels, a weight without acgan, a class out of range or on an unconditional checkpoint, a contradicting resume', async () => {
  const m1 = await errorMessageAsync(() => trainRun(parseFlags(['--dataset', 'toy', '--conditional', 'projection', '--iters', '1', '--n-batch-per-epoch', '1', '--out', path.join(tmp, 'toy')], trainFlags('mnist')), quiet));
  assert.match(m1, /--conditional projection needs labelled data \(mnist, fashion or cifar10\); --dataset toy has no labels/);
  const e = (() => { try { resolveRunConfig({ dataset: 'celeba', conditional: 'acgan' }, { channels: 3, height: 64, n: 100 }); } catch (x) { return x as RunConfigError; } })()!;
  assert.instance(e, RunConfigError);
  assert.is(e.parameter, 'conditional');
  assert.match(e.message, /conditional acgan needs labelled data .*dataset celeba has no labels/);
  const m2 = await errorMessageAsync(() => run('--conditional', 'projection', '--acgan-weight', '2', '--iters', '1', '--out', path.join(tmp, 'w')));
  assert.match(m2, /--acgan-weight applies only to --conditional acgan, received --conditional projection/);
  const cond = path.join(tmp, 'grid', 'checkpoints');
  assert.match(errorMessage(() => gen('--checkpoint', cond, '--class', '10')), /--class expects a class in \[0, 10\) \(the run's 10 classes\), received 10/);
  assert.match(errorMessage(() => gen('--checkpoint', cond, '--n', '16')), /--n with a conditional run needs --class C/);
  const plain = path.join(tmp, 'plain');
  await run('--iters', '1', '--checkpoint-every', '1', '--out', plain);
  assert.match(errorMessage(() => gen('--checkpoint', path.join(plain, 'checkpoints'), '--class', '3')), /--class 3: .* is not a conditional run/);
  const m3 = await errorMessageAsync(() => trainRun(parseFlags(['--iters', '3', '--out', path.join(tmp, 'grid'), '--resume', '--conditional', 'acgan'], trainFlags('mnist')), quiet));
  assert.match(m3, /--conditional 'acgan' contradicts the checkpoint's 'projection'/);
  const m4 = await errorMessageAsync(() => trainRun(parseFlags(['--iters', '2', '--out', plain, '--resume', '--conditional', 'projection'], trainFlags('mnist')), quiet));
  assert.match(m4, /--conditional 'projection' contradicts the checkpoint's 'none'/);
});

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz') && fs.existsSync(path.join(__dirname, '..', 'models', 'classifier-fashion.safetensors'));
const withFashion = testUnless(haveFashion ? null : 'no Fashion-MNIST test set (apt-get install dataset-fashion-mnist) or models/classifier-fashion.safetensors');

withFashion('label consistency equals a hand count: real images of the asked class 100%, shuffled ones their own count (about 10%)', () => {
  const clf = loadClassifier('fashion');
  try {
    const test = loadMetricSplit('fashion').test;
    const n = 1000;
    const images = tg.tensor(test.images.subarray(0, 2000 * 784), [2000, 1, 28, 28]).to(undefined, 'float32').div(127.5).sub(1).keep();
    // the classifier's own class of each pool image, by hand: argmax of its logits
    const pred = Array.from(tg.tidy(() => tg.noGrad(() => clf.logits(images).argmax(1))).data() as BigInt64Array, Number);
    const byClass = Array.from({ length: 10 }, (_, c) => pred.map((p, i) => (p === c ? i : -1)).filter((i) => i >= 0));
    // a fake conditional generator: for label y, the next pool image that `pick` chooses
    class Fake extends Module<[tg.Tensor, tg.Tensor], tg.Tensor> {
      noiseShape = [4];
      served: number[] = [];
      constructor(readonly pick: (y: number, k: number) => number) { super(); }
      forward(_z: tg.Tensor, y: tg.Tensor) {
        const ys = Array.from(y.to('cpu').data() as BigInt64Array, Number);
        const idx = ys.map((c) => this.pick(c, this.served.length));
        this.served.push(...idx);
        return tg.tidy(() => images.indexSelect(0, tg.tensor(BigInt64Array.from(idx, BigInt), [idx.length])));
      }
    }
    const ref = qualityReference(classifierOutputs(clf, test, { n: 1000 }));
    const opts = { n, batchSize: 250, numClasses: 10, kid: { subsets: 5, subsetSize: 100 }, splits: 2 };
    const right = new Fake((c, k) => byClass[c][k % byClass[c].length]);
    const lc1 = evaluateGenerator(right, clf, ref, opts).labelConsistency!;
    assert.is(lc1.overall, 1);
    assert.equal(lc1.perClass, new Array(10).fill(1));
    assert.equal(lc1.counts, new Array(10).fill(100)); // sample i asks for class i mod 10
    const shuffled = new Fake((_c, k) => (k * 7919 + 13) % 2000);
    const lc2 = evaluateGenerator(shuffled, clf, ref, opts).labelConsistency!;
    const hand = shuffled.served.filter((img, i) => pred[img] === i % 10).length;
    assert.is(lc2.correct, hand);
    assert.is(lc2.overall, hand / n);
    assert.ok(lc2.overall > 0.05 && lc2.overall < 0.16, `shuffled: ${lc2.overall}`);
    const perClassHand = Array.from({ length: 10 }, (_, c) => shuffled.served.filter((img, i) => i % 10 === c && pred[img] === c).length / 100);
    assert.equal(lc2.perClass, perClassHand);
    assert.match(labelConsistencyText(lc2, 'fashion'), new RegExp(`${(lc2.overall * 100).toFixed(1)}% of 1000 \\(${hand}\\)[^]*\\| 9 Ankle boot \\| 100 \\|`));
    assert.throws(() => labelConsistency({ data: new Float64Array(20), n: 2, d: 10 }, [0, 10]), /requested\[1\]/);
    images.dispose();
  } finally {
    clf.dispose();
  }
});

withFashion('evaluate on a conditional checkpoint reports the label consistency, in the JSON too', async () => {
  const out = path.join(tmp, 'fashion-cond');
  await trainRun(parseFlags(['--dset', 'fashion', '--limit', '256', '--iters', '1', '--base-width', '8', '--batch-size', '16', '--conditional', 'acgan', '--out', out], trainFlags('fashion')), quiet);
  const clf = loadClassifier('fashion');
  const split = loadMetricSplit('fashion');
  const real = { test: classifierOutputs(clf, split.test, { n: 500 }), train: classifierOutputs(clf, split.train, { n: 100 }), note: 'subset' };
  clf.dispose();
  const e = evaluateCheckpoint(path.join(out, 'checkpoints'), { n: 100, real, kidSubsets: 5, kidSubsetSize: 50, splits: 1 });
  const lc = e.generated.labelConsistency!;
  assert.is(lc.n, 100);
  assert.equal(lc.counts, new Array(10).fill(10));
  assert.ok(lc.overall >= 0 && lc.overall <= 1);
  assert.ok(JSON.parse(JSON.stringify(e)).generated.labelConsistency.correct === lc.correct);
});

const avail = tg.distributed.distributedAvailability();
const dtest = testUnless(avail.gloo ? null : `no Gloo: ${avail.glooReason}`);

dtest('launch --nproc 2 -- train --conditional projection = one process with the same global batch (labels sharded with the images)', () => {
  const root = path.join(__dirname, '..');
  const env: NodeJS.ProcessEnv = { ...process.env, TORCH_GAN_NUM_THREADS: '1' };
  for (const k of ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE']) delete env[k];
  const node = (code: string, args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', '-e', code, '--', ...args], { cwd: root, encoding: 'utf8', env, timeout: 180_000 });
  const MAIN = `require(${JSON.stringify(path.join(root, 'lib/cli/main.ts'))}).main(process.argv.slice(1)) || process.exit(2)`;
  const LAUNCH = `require(${JSON.stringify(path.join(root, 'lib/cli/launch.ts'))}).launchCommand(process.argv.slice(1))`;
  const args = (out: string) => ['train', ...small, '--conditional', 'projection', '--iters', '3', '--checkpoint-every', '3', '--threads', '1', '--out', out];
  const one = path.join(tmp, 'dp-one');
  const two = path.join(tmp, 'dp-two');
  const r1 = node(MAIN, args(one));
  assert.is(r1.status, 0, r1.stderr);
  const r2 = node(LAUNCH, ['--nproc', '2', '--', ...args(two)]);
  assert.is(r2.status, 0, r2.stderr + r2.stdout);
  assert.match(r2.stdout, /batch 16 \(8 on each of 2 ranks\)/);
  let worst = 0;
  for (const m of ['generator', 'critic']) {
    const x = loadSafetensors(path.join(latestCheckpoint(path.join(one, 'checkpoints')).dir, `${m}.safetensors`));
    const y = loadSafetensors(path.join(latestCheckpoint(path.join(two, 'checkpoints')).dir, `${m}.safetensors`));
    for (const k of Object.keys(x)) worst = Math.max(worst, tg.tidy(() => x[k].sub(y[k]).abs().max().item()));
    for (const t of [...Object.values(x), ...Object.values(y)]) t.dispose();
  }
  console.log(`  conditional, 2 ranks x 8 vs 1 x 16, 3 WGAN-GP iterations: max |weight difference| ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-5, `weights differ by ${worst}`);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
