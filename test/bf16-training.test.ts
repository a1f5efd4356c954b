// precision 'bf16' (mixed precision) in training: a WGAN-GP critic update of a small dcganCritic
// against PyTorch's torch.autocast('cpu', bfloat16) from fixed weights and inputs
// (test/fixtures/autocast.json, scripts/fixtures/make_autocast_fixtures.py: the critic update
// composed as GanTrainer composes it), a generator forward against the same on this libtorch
// version; a 20-iteration GanTrainer run in bf16 next to the fp32 one; the run option and its
// CLI flag, and resuming.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Module } from '../lib/nn/module';
import { Adam } from '../lib/optim';
import { autocast, isAutocastEnabled } from '../lib/autograd';
import { diagnostics } from '../lib/diagnostics';
import { GanTrainer, dcganCritic, dcganGenerator, gradientPenalty } from '../lib/gan';
import type { Normalization } from '../lib/gan/models';
import { parseFlags } from '../lib/cli/args';
import { trainFlags, trainRun } from '../lib/cli/train-run';
import { latestCheckpoint } from '../lib/gan/checkpoint';
import { checkSavedRunConfig } from '../lib/gan/resume';
import { errorMessageAsync, isTorchError, torchError } from './helpers/errors';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

type Entry = { shape: number[]; data: number[] };
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'autocast.json'), 'utf8'));
const major = Number(diagnostics().libtorch.version.split('.')[0]);
const mine = fixture[`torch${major >= 2 ? 2 : 1}`];
const t = (e: Entry) => tg.tensor(Float32Array.from(e.data), e.shape);
function load(m: Module, d: Record<string, Entry>): void {
  const sd: Record<string, Tensor> = {};
  for (const [k, e] of Object.entries(d)) sd[k] = t(e);
  m.loadStateDict(sd);
}
const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
function closeAll(a: number[], b: number[], tol: number, what: string): number {
  assert.is(a.length, b.length, `${what}: length`);
  const scale = Math.max(1e-6, maxAbs(b));
  const d = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(d <= tol * scale, `${what}: max |diff| ${d} > ${tol} × ${scale}`);
  return d;
}

// ---------------------------------------------------------------- against PyTorch's autocast

/** One critic update as GanTrainer({precision: 'bf16'}) composes it: each score in its own region, cast to float32; the penalty in one region. */
function bf16CriticUpdate(norm: Normalization) {
  const D = dcganCritic({ imageSize: 28, baseWidth: 4, channels: 1, normalization: norm });
  load(D, fixture.init[`critic-${norm}`]);
  const real = t(fixture.inputs.real), fake = t(fixture.inputs.fake), eps = t(fixture.inputs.eps);
  const score = (x: Tensor) => autocast(() => D.forward(x)).float();
  const dReal = score(real), dFake = score(fake);
  const pen = autocast(() => gradientPenalty(score, real, fake, { eps, lambda: 10 }));
  assert.is(pen.penalty.dtype, 'float32', 'the penalty is float32');
  assert.is(pen.gradNorms.dtype, 'float32', 'so are the gradient norms');
  const loss = dFake.mean().sub(dReal.mean()).add(pen.penalty);
  loss.backward();
  return { D, dReal, dFake, pen, loss: loss.item() };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const l2 = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));

/** The critic's weight gradients of the same update in fp32, libtorch's kernels (what test/gan-penalty.test.ts checks against PyTorch). */
function fp32Grads(norm: Normalization): Record<string, number[]> {
  tg.setFastKernels(false);
  try {
    const D = dcganCritic({ imageSize: 28, baseWidth: 4, channels: 1, normalization: norm });
    load(D, fixture.init[`critic-${norm}`]);
    const real = t(fixture.inputs.real), fake = t(fixture.inputs.fake), eps = t(fixture.inputs.eps);
    const pen = gradientPenalty(D, real, fake, { eps, lambda: 10 });
    D.forward(fake).mean().sub(D.forward(real).mean()).add(pen.penalty).backward();
    return Object.fromEntries(D.namedParameters().map(([k, p]) => [k, p.grad!.toArray() as number[]]));
  } finally {
    tg.setFastKernels(true);
  }
}

for (const norm of ['instance', 'layer'] as Normalization[]) {
  // PyTorch 1.13 refuses layer norm of bf16 with float32 affine parameters: the 2.13 values stand for both
  const ref = (mine.critics[norm].bf16 ? mine : fixture.torch2).critics[norm];
  const which = ref === mine.critics[norm] ? mine.torch : `${fixture.torch2.torch}'s values`;
  test(`a WGAN-GP critic update of a ${norm}-norm dcganCritic under autocast, libtorch's kernels: PyTorch's torch.autocast (${which}), not fp32`, () => {
    tg.setFastKernels(false);
    try {
      const r = bf16CriticUpdate(norm);
      const bf16 = ref.bf16, fp32 = ref.fp32;
      const tol = 3e-3;
      assert.ok(rel(r.loss, bf16.loss) <= tol, `loss ${r.loss} vs PyTorch bf16 ${bf16.loss} (fp32 ${fp32.loss})`);
      assert.ok(rel(r.pen.penalty.item(), bf16.penalty) <= tol, `penalty ${r.pen.penalty.item()} vs PyTorch bf16 ${bf16.penalty}`);
      // autocast did something: the float32 numbers are several tolerances away
      assert.ok(rel(r.loss, fp32.loss) > 3 * tol, `loss ${r.loss} too close to fp32's ${fp32.loss}: did autocast run?`);
      assert.ok(rel(bf16.loss, fp32.loss) > 3 * tol, 'the fixture separates bf16 from fp32');
      closeAll(r.dReal.toArray(), bf16.dReal.data, 1e-2, 'D(real)');
      closeAll(r.dFake.toArray(), bf16.dFake.data, 1e-2, 'D(fake)');
      closeAll(r.pen.gradNorms.toArray(), bf16.gradNorms.data, 1e-2, 'per-sample gradient norms');
      for (const [k, p] of r.D.namedParameters()) {
        assert.is(p.grad!.dtype, 'float32', `${k}.grad stays float32`);
        closeAll(p.grad!.toArray(), bf16.grads[k].data, 3e-2, `${k}.grad (double backward under bf16)`);
      }
    } finally {
      tg.setFastKernels(true);
    }
  });

  test(`the same with torch-gan's substitutions (a bf16 instance norm normalised in float): within 1% of PyTorch's bf16, no farther from fp32`, () => {
    const r = bf16CriticUpdate(norm);
    const bf16 = ref.bf16, fp32 = ref.fp32;
    for (const [what, mineV, theirs, full] of [['loss', r.loss, bf16.loss, fp32.loss], ['penalty', r.pen.penalty.item(), bf16.penalty, fp32.penalty]] as const) {
      assert.ok(rel(mineV, theirs) <= 1e-2, `${what} ${mineV} vs PyTorch bf16 ${theirs}`);
      assert.ok(Math.abs(mineV - full) <= Math.abs(theirs - full) + 3e-3 * Math.abs(full), `${what} ${mineV}: farther from fp32 ${full} than PyTorch's bf16 ${theirs}`);
      assert.ok(rel(mineV, full) > 3e-3, `${what} ${mineV} is fp32's ${full}: did autocast run?`);
    }
    closeAll(r.pen.gradNorms.toArray(), bf16.gradNorms.data, 2e-2, 'per-sample gradient norms');
    // the weight gradients (through the penalty's double backward in bf16, the noisy part: 7-10%
    // of their norm off fp32's in PyTorch's) are about as far from the fp32 ones as PyTorch's bf16 ones (the instance-norm critic's nearer: 10.9 vs 13.4 for its second layer)
    const full = fp32Grads(norm);
    for (const [k, p] of r.D.namedParameters()) {
      assert.is(p.grad!.dtype, 'float32', `${k}.grad stays float32`);
      const g = p.grad!.toArray() as number[], theirs = bf16.grads[k].data as number[], f = full[k];
      const mineOff = l2(g, f), theirsOff = l2(theirs, f);
      assert.ok(mineOff <= 1.25 * theirsOff, `${k}.grad: ${mineOff} from fp32's, PyTorch's bf16 ${theirsOff}`);
      assert.ok(l2(g, theirs) <= 0.15 * l2(f, f.map(() => 0)), `${k}.grad: far from PyTorch's bf16`);
    }
  });
}

test(`a dcganGenerator forward under autocast matches PyTorch ${mine.torch}'s (its transposed convolutions in ${mine.generator.bf16Dtype})`, () => {
  const G = dcganGenerator({ imageSize: 28, noiseDim: 8, baseWidth: 4, channels: 1, normalization: 'instance' });
  load(G, fixture.init.generator);
  const y = autocast(() => G.forward(t(fixture.inputs.z)));
  assert.is(y.dtype, mine.generator.bf16Dtype);
  closeAll(y.float().toArray(), mine.generator.bf16.data, 2e-2, 'G(z) under autocast');
  if (mine.generator.bf16Dtype === 'bfloat16') {
    const d = y.float().sub(G.forward(t(fixture.inputs.z))).abs().max().item();
    assert.ok(d > 1e-3, `under autocast G(z) differs from fp32 (max ${d}; PyTorch's: ${mine.generator.maxDiffFromFp32})`);
  }
});

// ---------------------------------------------------------------- GanTrainer

function tinyRun(precision: 'fp32' | 'bf16', steps: number) {
  tg.manualSeed(21);
  const G = dcganGenerator({ imageSize: 28, noiseDim: 8, baseWidth: 4, channels: 1, normalization: 'instance' });
  const D = dcganCritic({ imageSize: 28, baseWidth: 4, channels: 1, normalization: 'instance' });
  const data = tg.rand([64, 1, 28, 28]).mul(2).sub(1);
  const optG = new Adam(G.parameters(), { lr: 1e-4, betas: [0.5, 0.9] });
  const optD = new Adam(D.parameters(), { lr: 1e-4, betas: [0.5, 0.9] });
  let i = 0;
  const trainer = new GanTrainer({ generator: G, critic: D, optG, optD, loss: 'wgan-gp', nCritic: 2, precision, batches: () => data.narrow(0, (8 * i++) % 64, 8) });
  const stats = [];
  for (let s = 0; s < steps; s++) stats.push(trainer.step());
  return { stats, G, D, optG, optD, trainer };
}

test('GanTrainer precision bf16: 20 WGAN-GP iterations without NaN, weights, gradients and Adam state float32, losses near the fp32 run', () => {
  const a = tinyRun('fp32', 20);
  const b = tinyRun('bf16', 20);
  assert.is(b.trainer.precision, 'bf16');
  let differs = false;
  b.stats.forEach((s, k) => {
    for (const key of ['criticLoss', 'generatorLoss', 'penalty', 'gradNorm', 'wassersteinEstimate'] as const) {
      assert.ok(Number.isFinite(s[key]), `step ${k} ${key} is ${s[key]}`);
      const ref = a.stats[k][key];
      assert.ok(Math.abs(s[key] - ref) <= 0.1 * Math.max(1, Math.abs(ref)), `step ${k} ${key}: bf16 ${s[key]} vs fp32 ${ref}`);
      if (s[key] !== ref) differs = true;
    }
  });
  assert.ok(differs, 'the bf16 run computed something else than the fp32 run');
  for (const [m, opt, name] of [[b.G, b.optG, 'generator'], [b.D, b.optD, 'critic']] as const) {
    for (const [k, p] of m.namedParameters()) {
      assert.is(p.dtype, 'float32', `${name} ${k}`);
      assert.ok(p.grad === null || p.grad.dtype === 'float32', `${name} ${k}.grad`);
      assert.ok(Number.isFinite(p.abs().max().item()), `${name} ${k} finite`);
      const st = opt.state.get(p)!;
      assert.ok(st, `${name} ${k} has Adam state`);
      for (const s of ['expAvg', 'expAvgSq']) assert.is((st[s] as Tensor).dtype, 'float32', `${name} ${k} ${s}`);
    }
  }
  const x = b.trainer.sample(4);
  assert.is(x.dtype, 'float32', 'samples are float32');
});

test('GanTrainer precision bf16: every critic and generator forward (critic update, penalty, generator update) runs under autocast; fp32 under none', () => {
  for (const [precision, batchCriticForward] of [['fp32', false], ['bf16', false], ['bf16', true]] as const) {
    const seen: { who: string; autocast: boolean; dtype: string }[] = [];
    class Spy extends Module {
      constructor(readonly who: string, readonly inner: Module) { super(); this.registerModule('inner', inner); }
      get noiseShape() { return (this.inner as unknown as { noiseShape?: number[] }).noiseShape; }
      forward(x: Tensor): Tensor {
        const y = this.inner.forward(x) as Tensor;
        seen.push({ who: this.who, autocast: isAutocastEnabled(), dtype: y.dtype });
        return y;
      }
    }
    tg.manualSeed(3);
    const G = new Spy('G', dcganGenerator({ imageSize: 28, noiseDim: 8, baseWidth: 4, channels: 1, normalization: 'instance' }));
    const D = new Spy('D', dcganCritic({ imageSize: 28, baseWidth: 4, channels: 1, normalization: 'instance' }));
    const trainer = new GanTrainer({ generator: G, critic: D, optG: new Adam(G.parameters()), optD: new Adam(D.parameters()), loss: 'wgan-gp', nCritic: 1, precision, batchCriticForward, batches: () => tg.rand([4, 1, 28, 28]) });
    trainer.step();
    // critic update: G (fakes), D(real) and D(fake) (one batched forward), D(x̂) in the penalty; generator update: G, D
    assert.equal(seen.map((s) => s.who), batchCriticForward ? ['G', 'D', 'D', 'G', 'D'] : ['G', 'D', 'D', 'D', 'G', 'D']);
    for (const s of seen) {
      assert.is(s.autocast, precision === 'bf16', `${precision}: ${s.who} under autocast`);
      // 1.13's autocast runs the generator's transposed convolutions (and so its output) in float32
      const expected = precision === 'fp32' ? 'float32' : s.who === 'D' ? 'bfloat16' : mine.generator.bf16Dtype;
      assert.is(s.dtype, expected, `${precision}: ${s.who}'s output`);
    }
  }
});

test('GanTrainer refuses a precision other than fp32 / bf16, and bf16 with float64 networks, naming options.precision', () => {
  const G = dcganGenerator({ imageSize: 28, noiseDim: 8, baseWidth: 4 });
  const D = dcganCritic({ imageSize: 28, baseWidth: 4, normalization: 'instance' });
  const base = { generator: G, critic: D, optG: new Adam(G.parameters()), optD: new Adam(D.parameters()), loss: 'wgan-gp' as const, batches: () => tg.zeros([2, 1, 28, 28]) };
  let e = torchError(() => new GanTrainer({ ...base, precision: 'fp16' as never }));
  assert.is(e.parameter, 'GanTrainer() options.precision');
  assert.match(e.received!, /fp16/);
  const G64 = dcganGenerator({ imageSize: 28, noiseDim: 8, baseWidth: 4, dtype: 'float64' });
  const D64 = dcganCritic({ imageSize: 28, baseWidth: 4, normalization: 'instance', dtype: 'float64' });
  e = torchError(() => new GanTrainer({ ...base, generator: G64, critic: D64, optG: new Adam(G64.parameters()), optD: new Adam(D64.parameters()), precision: 'bf16' }));
  assert.is(e.parameter, 'GanTrainer() options.precision');
  assert.match(e.received!, /float64/);
});

// ---------------------------------------------------------------- the run option and the CLI

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-bf16-'));
const quiet = () => {};
const small = ['--limit', '64', '--batch-size', '16', '--base-width', '4', '--noise-dim', '8', '--seed', '4', '--sample-every', '100', '--n-critic', '1'];
const flags = (...extra: string[]) => parseFlags([...small, ...extra], trainFlags('mnist'));
const train = (...extra: string[]) => trainRun(flags(...extra), quiet);

test('--precision bf16 trains (the start line names it, the checkpoint saves it); --precision fp16 is refused naming the flag', async () => {
  const out = path.join(tmp, 'bf16');
  const logs: string[] = [];
  const r = await trainRun(flags('--precision', 'bf16', '--iters', '2', '--checkpoint-every', '2', '--out', out), (m) => logs.push(m));
  assert.is(r.config.precision, 'bf16');
  assert.ok(logs.some((l) => /^model: .* on cpu, precision bf16$/.test(l)), logs.join('\n'));
  assert.ok(Number.isFinite(r.last!.criticLoss) && Number.isFinite(r.last!.generatorLoss));
  assert.is(latestCheckpoint(path.join(out, 'checkpoints')).state.config.precision, 'bf16');
  for (const bad of ['fp16', 'float16']) {
    const e = torchError(() => flags('--precision', bad));
    assert.is(e.parameter, '--precision');
    assert.match(e.message, /loss scaling/);
  }
  assert.throws(() => flags('--precision', 'int8'), isTorchError('ERR_USAGE', /--precision/));
  assert.match(flags('--precision', 'bf16').precision as string, /^bf16$/);
});

test('--precision bf16 with --conditional acgan (scores and class logits), --loss gan with R1, --loss dragan trains to finite losses', async () => {
  for (const extra of [['--conditional', 'acgan'], ['--loss', 'gan', '--r1-gamma', '1'], ['--loss', 'dragan']]) {
    const r = await train('--precision', 'bf16', '--iters', '2', '--checkpoint-every', '2', '--out', path.join(tmp, extra.join('-')), ...extra);
    assert.ok(Number.isFinite(r.last!.criticLoss) && Number.isFinite(r.last!.generatorLoss), `${extra.join(' ')}: ${JSON.stringify(r.last)}`);
  }
});

test('a resume keeps the checkpoint\'s precision: --precision that contradicts it is refused; an old checkpoint without it ran in fp32', async () => {
  const out = path.join(tmp, 'resume');
  await train('--iters', '1', '--checkpoint-every', '1', '--out', out);
  const m = await errorMessageAsync(() => train('--iters', '2', '--out', out, '--resume', '--precision', 'bf16'));
  assert.match(m, /--precision 'bf16' contradicts the checkpoint's 'fp32' \(.*state\.json\)/);
  const same = await train('--iters', '2', '--checkpoint-every', '2', '--out', out, '--resume');
  assert.is(same.config.precision, 'fp32');
  const { state } = latestCheckpoint(path.join(out, 'checkpoints'));
  const old = { ...(state.config as Record<string, unknown>) };
  delete old.precision;
  assert.is(checkSavedRunConfig(old, 'state.json').precision, 'fp32');
});

test.run();
