// The practitioner options through the one engine and the CLI, on tiny MNIST runs (256 images,
// base width 8): the EMA's shadow is the moving average of the generator's history and is what the
// grids, generate and evaluate use; the spectrally normalised critic computes W/σ (σ = uᵀWv from
// its buffers, here in float64); a run with every feature on resumes bit for bit (EMA, u and v
// included); checkpoints written before these options resume with them off; generate's
// --truncation replays truncatedNoise and is refused for uniform noise; evaluate --log-dir writes
// scalars TensorBoard reads at the checkpoint's step.
import { test } from 'uvu';
import { findTensorBoardPython } from './helpers/tensorboard-python';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Module } from '../lib/nn/module';
import { parseFlags } from '../lib/cli/args';
import { trainFlags, trainRun } from '../lib/cli/train-run';
import { generateFlags, generateMain } from '../lib/cli/generate';
import { evaluateCheckpoint, logEvaluation } from '../lib/cli/evaluate';
import { buildModels, generate, openRun, RunConfig, seededNoise } from '../lib/gan/run';
import { GeneratorSampler } from '../lib/gan/worker';
import { latestCheckpoint } from '../lib/gan/checkpoint';
import { checkSavedRunConfig } from '../lib/gan/resume';
import { truncatedNoise } from '../lib/gan/truncation';
import { loadSafetensors, readSafetensorsHeader } from '../lib/io/safetensors';
import { loadModule } from '../lib/io/state';
import { imageGrid } from '../lib/io/png';
import { classifierOutputs, loadClassifier } from '../lib/metrics';
import { loadRunData } from '../lib/gan/run';
import { testUnless } from './helpers/skip';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-features-'));
const quiet = () => {};
const small = ['--limit', '256', '--batch-size', '16', '--base-width', '8', '--noise-dim', '8', '--seed', '4', '--sample-every', '100'];
const train = (...extra: string[]) => trainRun(parseFlags([...small, ...extra], trainFlags('mnist')), quiet);
const tiny = { limit: 256, batchSize: 16, baseWidth: 8, noiseDim: 8, seed: 4 } as const;

test('EMA: the shadow is the moving average of the generator after each step; the grid and sample() come from it, not the live generator', async () => {
  const decay = 0.8;
  const run = await openRun({ ...tiny, loss: 'gan', emaDecay: decay, emaWarmup: false, iters: 3 });
  assert.ok(run.ema, 'the run keeps an EMA');
  const key = (run.generator as Module).namedParameters()[0][0];
  const live = () => (run.generator as Module).namedParameters().find(([k]) => k === key)![1].toArray() as number[];
  let expected = live(); // the shadow starts as a copy of the initial generator
  for (let i = 0; i < 3; i++) {
    run.trainStep();
    const th = live();
    expected = expected.map((s, j) => decay * s + (1 - decay) * th[j]);
  }
  const shadow = run.ema!.module.namedParameters().find(([k]) => k === key)![1].toArray() as number[];
  shadow.forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-6, `shadow[${j}] ${v} vs ${expected[j]}`));
  const grid = run.fixedNoiseGrid();
  const own = (m: Module) => { const x = generate(m, run.fixedNoise); try { return imageGrid(x, { nrow: 8, padding: 2 }); } finally { x.dispose(); } };
  assert.ok(grid.equals(own(run.ema!.module as Module)), "the grid is the shadow's");
  assert.not.ok(grid.equals(own(run.generator as Module)), "not the live generator's");
  run.dispose();
});

/** σ = uᵀ W v in float64 for W reshaped [rows, -1]. */
function sigma(w: Tensor, u: number[], v: number[]): number {
  const W = w.toArray() as number[];
  const rows = w.shape[0], cols = W.length / rows;
  let s = 0;
  for (let i = 0; i < rows; i++) {
    let r = 0;
    for (let j = 0; j < cols; j++) r += W[i * cols + j] * v[j];
    s += u[i] * r;
  }
  return s;
}

test("spectral norm: the critic's keys are PyTorch's and its forward equals a plain critic's with W/σ from its u and v", async () => {
  const run = await openRun({ ...tiny, loss: 'hinge', criticSpectralNorm: true, iters: 2, nCritic: 1 });
  run.trainStep(); // u, v updated by the power iteration
  assert.is(run.config.criticNorm, 'none');
  const sd = run.critic.stateDict();
  const keys = Object.keys(sd);
  const orig = keys.filter((k) => k.endsWith('.weight_orig'));
  assert.is(orig.length, 4, 'every convolution of the 28×28 critic');
  for (const k of orig) for (const s of ['_u', '_v']) assert.ok(keys.includes(k.replace('_orig', s)), `${k.replace('_orig', s)}`);
  assert.not.ok(keys.some((k) => k.endsWith('.weight')), 'no plain weight left');
  const plainConfig: RunConfig = { ...run.config, criticSpectralNorm: false };
  const { generator, critic: plain } = buildModels(plainConfig);
  generator.dispose();
  const dict = new Map<string, Tensor>();
  const made: Tensor[] = [];
  for (const [k, t] of Object.entries(sd)) {
    if (k.endsWith('_u') || k.endsWith('_v')) continue;
    if (k.endsWith('.weight_orig')) {
      const p = k.slice(0, -'_orig'.length);
      const s = sigma(t, sd[`${p}_u`].toArray() as number[], sd[`${p}_v`].toArray() as number[]);
      const scaled = t.div(s);
      made.push(scaled);
      dict.set(p, scaled);
    } else dict.set(k, t);
  }
  plain.loadStateDict(dict);
  run.critic.eval();
  plain.eval();
  const x = tg.randn([5, 1, 28, 28]);
  const a = tg.noGrad(() => (run.critic.forward(x) as Tensor).toArray() as number[]);
  const b = tg.noGrad(() => (plain.forward(x) as Tensor).toArray() as number[]);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5 * (1 + Math.abs(b[i])), `D(x)[${i}] ${v} vs ${b[i]}`));
  for (const t of [x, ...made]) t.dispose();
  plain.dispose();
  run.dispose();
});

// every feature on at once: gan loss, EMA, spectral norm, lazy R1, R2, DiffAugment
const everything = ['--loss', 'gan', '--ema-decay', '0.9', '--critic-spectral-norm', '--r1-gamma', '1', '--r2-gamma', '0.5', '--reg-every', '2', '--diff-augment', 'color,translation,cutout', '--checkpoint-every', '2'];
const resumedOut = path.join(tmp, 'resumed');
const straightOut = path.join(tmp, 'straight');

function tensorsOf(file: string): Record<string, number[]> {
  const t = loadSafetensors(file);
  try {
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.toArray() as number[]]));
  } finally {
    for (const v of Object.values(t)) v.dispose();
  }
}

test('every feature on: train 2 then resume to 4 equals 4 straight, bit for bit (generator, EMA, critic with u and v, optimizers)', async () => {
  await train(...everything, '--iters', '2', '--out', resumedOut);
  const r = await train('--iters', '4', '--resume', '--out', resumedOut);
  assert.is(r.config.emaDecay, 0.9);
  assert.is(r.config.diffAugment, 'color,translation,cutout');
  await train(...everything, '--iters', '4', '--out', straightOut);
  const a = latestCheckpoint(path.join(resumedOut, 'checkpoints'));
  const b = latestCheckpoint(path.join(straightOut, 'checkpoints'));
  assert.is(a.state.step, 4);
  for (const f of ['generator.safetensors', 'generator_ema.safetensors', 'critic.safetensors', 'opt_g.safetensors', 'opt_d.safetensors', 'rng.safetensors']) {
    assert.equal(tensorsOf(path.join(a.dir, f)), tensorsOf(path.join(b.dir, f)), f);
  }
  const critic = Object.keys(readSafetensorsHeader(path.join(a.dir, 'critic.safetensors')).tensors);
  assert.ok(critic.some((k) => k.endsWith('weight_u')) && critic.some((k) => k.endsWith('weight_orig')), `critic keys: ${critic.join(', ')}`);
  // the EMA moved away from the live generator
  assert.not.equal(tensorsOf(path.join(a.dir, 'generator.safetensors')), tensorsOf(path.join(a.dir, 'generator_ema.safetensors')));
});

test("the worker's samples: TrainingRun.sample and a GeneratorSampler of the checkpoint come from the EMA's weights", async () => {
  const root = path.join(resumedOut, 'checkpoints');
  const { dir, state } = latestCheckpoint(root);
  const config = checkSavedRunConfig(state.config, path.join(dir, 'state.json'));
  const { generator, critic } = buildModels(config);
  critic.dispose();
  loadModule(generator, path.join(dir, 'generator_ema.safetensors'));
  const z = seededNoise(config, 4, 3);
  const x = generate(generator as Module, z);
  const want = x.toArray() as number[];
  for (const t of [x, z]) t.dispose();
  generator.dispose();
  const sampler = await GeneratorSampler.load(root);
  try {
    const got = await sampler.sampleAsync(4, { seed: 3, format: 'tensor-data' });
    assert.equal(Array.from(got.data), want.map(Math.fround), "the sampler's samples are the EMA's");
  } finally {
    await sampler.close();
  }
  const run = await openRun({}, { resume: root });
  try {
    const y = run.sample(4, 3);
    assert.equal(y.toArray(), want, "TrainingRun.sample (the worker's 'sample' request) too");
    y.dispose();
  } finally {
    run.dispose();
  }
});

const gen = (...argv: string[]) => generateMain(parseFlags(argv, generateFlags));

/** The grid generate should write: the given weights of the checkpoint, z from manualSeed(seed). */
function expectedGrid(root: string, file: string, seed: number, n: number, noise: (shape: number[]) => Tensor): Buffer {
  const { dir, state } = latestCheckpoint(root);
  const config = checkSavedRunConfig(state.config, path.join(dir, 'state.json'));
  const { generator, critic } = buildModels(config);
  critic.dispose();
  loadModule(generator, path.join(dir, file));
  tg.manualSeed(seed);
  const z = tg.tidy(() => noise([n, config.noiseDim, 1, 1]).mul(config.noiseScale));
  const x = generate(generator as Module, z);
  try {
    return imageGrid(x, { nrow: 8 });
  } finally {
    for (const t of [x, z]) t.dispose();
    generator.dispose();
  }
}

test('generate: the EMA weights by default, --weights live the generator; --truncation PSI draws truncatedNoise', () => {
  const root = path.join(resumedOut, 'checkpoints');
  const out = (n: string) => path.join(tmp, `${n}.png`);
  gen('--checkpoint', root, '--n', '6', '--seed', '5', '--out', out('ema'));
  gen('--checkpoint', root, '--n', '6', '--seed', '5', '--out', out('live'), '--weights', 'live');
  gen('--checkpoint', root, '--n', '6', '--seed', '5', '--out', out('trunc'), '--truncation', '0.5');
  const normal = (s: number[]) => tg.randn(s);
  assert.ok(fs.readFileSync(out('ema')).equals(expectedGrid(root, 'generator_ema.safetensors', 5, 6, normal)), "default: the EMA's samples");
  assert.ok(fs.readFileSync(out('live')).equals(expectedGrid(root, 'generator.safetensors', 5, 6, normal)), "--weights live: the generator's");
  assert.not.ok(fs.readFileSync(out('ema')).equals(fs.readFileSync(out('live'))));
  assert.ok(fs.readFileSync(out('trunc')).equals(expectedGrid(root, 'generator_ema.safetensors', 5, 6, (s) => truncatedNoise(s, 0.5))), 'truncated noise');
});

const plainOut = path.join(tmp, 'plain');

test('a checkpoint written before these options resumes with them off; generate then uses the live generator and refuses --weights ema', async () => {
  await train('--iters', '2', '--checkpoint-every', '2', '--out', plainOut);
  const root = path.join(plainOut, 'checkpoints');
  const { dir } = latestCheckpoint(root);
  const stateFile = path.join(dir, 'state.json');
  const st = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  for (const k of ['emaDecay', 'emaWarmup', 'r1Gamma', 'r2Gamma', 'regEvery', 'criticSpectralNorm', 'diffAugment']) delete st.config[k];
  fs.writeFileSync(stateFile, JSON.stringify(st));
  const r = await train('--iters', '3', '--resume', '--out', plainOut);
  assert.equal([r.config.emaDecay, r.config.r1Gamma, r.config.r2Gamma, r.config.regEvery, r.config.criticSpectralNorm, r.config.diffAugment], [0, 0, 0, 1, false, undefined]);
  const after = latestCheckpoint(root);
  assert.is(after.state.step, 3);
  assert.not.ok(fs.existsSync(path.join(after.dir, 'generator_ema.safetensors')));
  const file = path.join(tmp, 'plain.png');
  gen('--checkpoint', root, '--n', '4', '--seed', '2', '--out', file);
  assert.ok(fs.readFileSync(file).equals(expectedGrid(root, 'generator.safetensors', 2, 4, (s) => tg.randn(s))));
  try {
    gen('--checkpoint', root, '--out', file, '--weights', 'ema');
    assert.unreachable('refused');
  } catch (e) {
    assert.is((e as tg.TorchError).parameter, '--weights');
    assert.match((e as Error).message, /--weights ema: checkpoint .* has no generator_ema\.safetensors .*use --weights live/);
  }
});

test('generate --truncation with uniform noise is refused naming --truncation; a non-positive PSI too', async () => {
  const out = path.join(tmp, 'uniform');
  await train('--iters', '1', '--noise-kind', 'uniform', '--out', out);
  for (const [psi, re] of [['0.5', /--truncation truncates normal noise; .* --noise-kind uniform/], ['0', /--truncation expects a positive number/]] as const) {
    try {
      gen('--checkpoint', path.join(out, 'checkpoints'), '--out', path.join(tmp, 'u.png'), '--truncation', psi);
      assert.unreachable('refused');
    } catch (e) {
      assert.is((e as tg.TorchError).parameter, '--truncation');
      assert.match((e as Error).message, re);
    }
  }
});

// ---- evaluate

const haveClassifier = fs.existsSync(path.join(__dirname, '..', 'models', 'classifier-mnist.safetensors'));
const READER = path.join(__dirname, '..', 'scripts', 'fixtures', 'read_tensorboard.py');
const TB = findTensorBoardPython();
const PY = TB.py ?? undefined;
const why = !haveClassifier ? 'no models/classifier-mnist.safetensors' : null;
const withClassifier = testUnless(why);
const withReader = testUnless(why ?? (PY ? null : TB.why));

async function smallReal() {
  const clf = loadClassifier('mnist');
  const data = await loadRunData({ limit: 256 });
  try {
    return { test: classifierOutputs(clf, data, { n: 120 }), train: classifierOutputs(clf, data, { n: 60 }), note: '256 digits (test)' };
  } finally {
    clf.dispose();
  }
}
const opts = { n: 60, kidSubsets: 2, kidSubsetSize: 20, splits: 2, batchSize: 30 };

withClassifier('evaluate: the EMA weights when present (and says so), --weights live the generator; a run without EMA: live', async () => {
  const real = await smallReal();
  const root = path.join(resumedOut, 'checkpoints');
  const ema = evaluateCheckpoint(root, { ...opts, real });
  const live = evaluateCheckpoint(root, { ...opts, real, weights: 'live' });
  assert.is(ema.weights, 'ema');
  assert.is(live.weights, 'live');
  assert.is.not(ema.generated.fid, live.generated.fid, 'different generators, different numbers');
  assert.is(evaluateCheckpoint(path.join(plainOut, 'checkpoints'), { ...opts, real }).weights, 'live');
});

withReader('evaluate --log-dir: TensorBoard reads eval/fid, kid, classifier_score, tvd at the checkpoint step', async () => {
  const real = await smallReal();
  const e = evaluateCheckpoint(path.join(resumedOut, 'checkpoints'), { ...opts, real });
  const logDir = path.join(tmp, 'tb');
  logEvaluation(logDir, e);
  console.log(`  evaluate (tiny sample): fid ${e.generated.fid}, kid ${e.generated.kid.mean}, score ${e.generated.score.mean}, tvd ${e.generated.tvd}`);
  const r = spawnSync(PY!, [READER, 'dump', logDir], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  // Python's json writes a NaN metric (e.g. the TVD of a tiny sample) as NaN, which JSON.parse refuses
  const scalars = JSON.parse(r.stdout.replace(/\bNaN\b/g, 'null')).legacy.scalars;
  const want: Record<string, number> = { 'eval/fid': e.generated.fid, 'eval/kid': e.generated.kid.mean, 'eval/classifier_score': e.generated.score.mean, 'eval/tvd': e.generated.tvd };
  assert.equal(Object.keys(scalars).sort(), Object.keys(want).sort());
  for (const [tag, v] of Object.entries(want)) assert.equal(scalars[tag].map((s: { step: number; value: number }) => [s.step, s.value]), [[4, Number.isNaN(v) ? null : Math.fround(v)]], tag);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
