// The practitioner options in the trainer and the run config, checked against independent truth:
// LSGAN / hinge losses against the formulas on the replayed draws; R1 / R2 (lazy or not) by the
// critic's gradients of a linear critic, whose input gradient is its weight (so the penalty's
// weight gradient is gamma·k·w exactly); DiffAugment by the images the critic is handed, replayed
// with diffAugment on the same seed; the lazy Adam correction; the config's errors name the flag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Module } from '../lib/nn/module';
import { Linear } from '../lib/nn/layers';
import { SGD } from '../lib/optim';
import { GanTrainer, GanTrainerOptions } from '../lib/gan/trainer';
import { diffAugment } from '../lib/gan/diffaugment';
import { RUN_OPTIONS, RunSpec, resolveRunConfig, TrainingRun, loadRunData } from '../lib/gan/run';
import { FlagSpecs, helpText, parseFlags } from '../lib/cli/args';
import { generateFlags } from '../lib/cli/generate';
import { evaluateFlags } from '../lib/cli/evaluate';
import { trainFlags, resolveConfig, flagName } from '../lib/cli/train-run';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

const N = 6;
const Z = 4;

/** z [N, 4] -> images [N, 1, 8, 8] */
class Gen extends Module {
  lin = this.registerModule('lin', new Linear(Z, 64));
  forward(z: Tensor): Tensor {
    return tg.tidy(() => this.lin.forward(z).tanh().reshape([z.shape[0], 1, 8, 8]));
  }
}
/** D(x) = w·flatten(x) + b; records (as plain numbers) every batch it is handed */
class LinCritic extends Module {
  lin = this.registerModule('lin', new Linear(64, 1));
  seen: number[][] = [];
  forward(x: Tensor): Tensor {
    this.seen.push(Array.from(tg.tidy(() => x.detach().contiguous().toArray()) as number[]));
    return tg.tidy(() => this.lin.forward(x.reshape([x.shape[0], 64])));
  }
}

/** SGD with lr 0 (the networks stay put) that records each step's gradients. */
function recordingOptimizer(params: Tensor[]) {
  const sgd = new SGD(params, { lr: 0 });
  const grads: number[][][] = [];
  return {
    grads,
    paramGroups: sgd.paramGroups,
    zeroGrad: (s?: boolean) => sgd.zeroGrad(s),
    step: () => {
      grads.push(params.map((p) => {
        const g = p.grad;
        const v = g ? (g.toArray() as number[]) : [];
        g?.dispose();
        return v;
      }));
      sgd.step();
    },
    dispose: () => sgd.dispose(),
  };
}

function setup(extra: Partial<GanTrainerOptions>, seed = 11) {
  tg.manualSeed(seed);
  const generator = new Gen();
  const critic = new LinCritic();
  const real = tg.rand([N, 1, 8, 8]).mul(2).sub(1).keep();
  const optD = recordingOptimizer(critic.parameters());
  const optG = recordingOptimizer(generator.parameters());
  const trainer = new GanTrainer({
    generator, critic, optG, optD, loss: 'gan', nCritic: 1, batches: () => real.index(), noise: { dim: Z }, batchSize: N, ...extra,
  } as GanTrainerOptions);
  const w = () => critic.lin.weight.toArray() as number[];
  const dispose = () => { real.dispose(); generator.dispose(); critic.dispose(); optD.dispose(); optG.dispose(); };
  return { trainer, generator, critic, real, optD, optG, w, dispose };
}

const close = (a: number[], b: number[], tol: number, what: string) => {
  assert.is(a.length, b.length, `${what}: length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${v} vs ${b[i]}`));
};
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

for (const loss of ['lsgan', 'hinge'] as const) {
  test(`loss ${loss}: the step's critic and generator losses are the formula's on the replayed draws`, () => {
    const s = setup({ loss });
    const S = 21;
    // replay: the critic step draws z, the generator step draws z2 (the networks do not move: lr 0)
    tg.manualSeed(S);
    const [dr, df, dg] = tg.tidy(() => tg.noGrad(() => {
      const z = tg.randn([N, Z]);
      const z2 = tg.randn([N, Z]);
      const d = (x: Tensor) => s.critic.lin.forward(x.reshape([N, 64])).toArray() as number[];
      return [d(s.real), d(s.generator.forward(z)), d(s.generator.forward(z2))];
    }));
    tg.manualSeed(S);
    const st = s.trainer.step();
    const relu = (v: number) => Math.max(0, v);
    const critic = loss === 'lsgan'
      ? 0.5 * mean(dr.map((v) => (v - 1) ** 2)) + 0.5 * mean(df.map((v) => v * v))
      : mean(dr.map((v) => relu(1 - v))) + mean(df.map((v) => relu(1 + v)));
    const gen = loss === 'lsgan' ? 0.5 * mean(dg.map((v) => (v - 1) ** 2)) : -mean(dg);
    close([st.criticLoss, st.generatorLoss], [critic, gen], 1e-5, loss);
    s.dispose();
  });
}

test('R1 with regEvery 1: the penalty is in every critic update: gradient = the unpenalised one + gamma·w', () => {
  const gamma = 3;
  const a = setup({ r1Gamma: gamma });
  const b = setup({});
  const w = a.w();
  tg.manualSeed(5); a.trainer.run(3);
  tg.manualSeed(5); b.trainer.run(3);
  assert.is(a.optD.grads.length, 3, 'one optimizer step per critic update');
  for (let i = 0; i < 3; i++) {
    close(a.optD.grads[i][0], b.optD.grads[i][0].map((g, j) => g + gamma * w[j]), 1e-5, `update ${i} weight`);
    close(a.optD.grads[i][1], b.optD.grads[i][1], 1e-6, `update ${i} bias`);
  }
  a.dispose(); b.dispose();
});

test('R2 with regEvery 1: gamma·w added as well (the gradient at the fakes of a linear critic is w)', () => {
  const gamma = 0.5;
  const a = setup({ r2Gamma: gamma });
  const b = setup({});
  const w = a.w();
  tg.manualSeed(6); a.trainer.step();
  tg.manualSeed(6); b.trainer.step();
  close(a.optD.grads[0][0], b.optD.grads[0][0].map((g, j) => g + gamma * w[j]), 1e-5, 'weight');
  a.dispose(); b.dispose();
});

test('lazy R1 (regEvery 3): a separate update on critic updates 0, 3, 6 only, its gradient gamma·3·w; the others untouched', () => {
  const gamma = 2, k = 3;
  const a = setup({ r1Gamma: gamma, regEvery: k, nCritic: 2 });
  const b = setup({ nCritic: 2 });
  const w = a.w();
  tg.manualSeed(8); const sa = a.trainer.run(4)!; // 8 critic updates: 0..7, regularised at 0, 3, 6
  tg.manualSeed(8); const sb = b.trainer.run(4)!;
  assert.is(a.trainer.criticIteration, 8);
  assert.is(a.optD.grads.length, 8 + 3, '8 main updates + 3 regularisation updates');
  // the order of optimizer steps: main0 reg0 main1 main2 main3 reg3 main4 main5 main6 reg6 main7
  const regAt = new Set([1, 5, 9]);
  let main = 0;
  a.optD.grads.forEach((g, i) => {
    if (regAt.has(i)) {
      close(g[0], w.map((v) => gamma * k * v), 1e-5, `reg update ${i} weight`);
      // the bias is not in the penalty's graph: no gradient (None after zeroGrad) or 0
      assert.ok(g[1].length === 0 || Math.abs(g[1][0]) < 1e-7, `reg update ${i} bias: ${g[1]}`);
    } else {
      close(g[0], b.optD.grads[main][0], 1e-6, `main update ${main} weight`);
      main++;
    }
  });
  // the reported penalty: (k·gamma/2·‖w‖²) on 1 of 2 updates in steps 1, 2 (updates 0, 3), 4 (update 6); none in step 3
  const pen = k * gamma / 2 * w.reduce((s2, v) => s2 + v * v, 0);
  close([sa.penalty], [pen / 2], 1e-5, 'last step penalty');
  assert.is(sb.penalty, 0);
  a.dispose(); b.dispose();
});

test('diffAugment: the critic is handed augmented reals and fakes (critic step) and augmented fakes (generator step), replayed exactly', () => {
  const policy = 'color,translation,cutout';
  const s = setup({ diffAugment: policy });
  const S = 31;
  tg.manualSeed(S);
  const expected = tg.tidy(() => tg.noGrad(() => {
    const z = tg.randn([N, Z]);
    const fake = s.generator.forward(z);
    const ar = diffAugment(s.real, policy).toArray() as number[];
    const af = diffAugment(fake, policy).toArray() as number[];
    const z2 = tg.randn([N, Z]);
    const ag = diffAugment(s.generator.forward(z2), policy).toArray() as number[];
    return [ar, af, ag];
  }));
  s.critic.seen = [];
  tg.manualSeed(S);
  s.trainer.step();
  assert.is(s.critic.seen.length, 3);
  close(s.critic.seen[0], expected[0], 1e-6, 'augmented real');
  close(s.critic.seen[1], expected[1], 1e-6, 'augmented fake');
  close(s.critic.seen[2], expected[2], 1e-6, "augmented fake of the generator's step");
  const raw = s.real.toArray() as number[];
  assert.ok(raw.some((v, i) => Math.abs(v - s.critic.seen[0][i]) > 1e-3), 'the reals were changed by the augmentation');
  s.dispose();
});

test('GanTrainer refuses bad r1Gamma / regEvery / diffAugment, naming the option', () => {
  const s = setup({});
  const base = { generator: s.generator, critic: s.critic, optG: s.optG, optD: s.optD, loss: 'gan', batches: () => s.real.index(), noise: { dim: Z } } as GanTrainerOptions;
  assert.throws(() => new GanTrainer({ ...base, r1Gamma: -1 }), /options\.r1Gamma/);
  assert.throws(() => new GanTrainer({ ...base, regEvery: 0 }), /options\.regEvery/);
  assert.throws(() => new GanTrainer({ ...base, diffAugment: 'flip' }), /flip/);
  s.dispose();
});

// ---------------------------------------------------------------- the run config

const ds = { channels: 1, height: 28, n: 256 };
const cli = (...argv: string[]) => resolveConfig(parseFlags(argv, trainFlags('mnist')), ds);
function errorOf(fn: () => unknown): tg.TorchError {
  try {
    fn();
  } catch (e) {
    return e as tg.TorchError;
  }
  throw new Error('expected an error');
}

test('the recipes of lsgan (Mao et al.) and hinge (SNGAN) fill lr, betas and nCritic; the generator gets batch norm', () => {
  const l = resolveRunConfig({ loss: 'lsgan' }, ds);
  assert.equal([l.optD, l.lrD, l.lrG, l.beta1, l.beta2, l.nCritic, l.generatorNorm], ['adam', 2e-4, 2e-4, 0.5, 0.999, 1, 'batch']);
  const h = resolveRunConfig({ loss: 'hinge' }, ds);
  assert.equal([h.optD, h.lrD, h.beta1, h.beta2, h.nCritic, h.generatorNorm], ['adam', 2e-4, 0, 0.9, 5, 'batch']);
});

test('defaults: every feature off; spectral norm makes the critic norm none unless given', () => {
  const c = resolveRunConfig({}, ds);
  assert.equal([c.emaDecay, c.emaWarmup, c.r1Gamma, c.r2Gamma, c.regEvery, c.criticSpectralNorm, c.diffAugment], [0, true, 0, 0, 1, false, undefined]);
  assert.is(cli('--critic-spectral-norm').criticNorm, 'none');
  assert.is(cli('--critic-spectral-norm', '--critic-norm', 'layer').criticNorm, 'layer');
  assert.is(cli('--diff-augment', ' translation, color').diffAugment, 'translation,color');
  assert.is(cli('--ema-decay', '0.999', '--ema-warmup', 'false').emaWarmup, false);
});

test('bad values are refused naming the flag, what it expects and what it got', () => {
  const cases: [string[], string, RegExp][] = [
    [['--ema-decay', '1.5'], '--ema-decay', /at most 1/],
    [['--ema-decay', '1'], '--ema-decay', /below 1/],
    [['--r1-gamma', '-1'], '--r1-gamma', /at least 0/],
    [['--reg-every', '0'], '--reg-every', /at least 1/],
    [['--critic-spectral-norm', 'maybe'], '--critic-spectral-norm', /true or false/],
    [['--diff-augment', 'color,flip'], '--diff-augment', /color, translation, cutout.*'color,flip'/],
    [['--loss', 'wasserstein'], '--loss', /lsgan, hinge/],
    [['--r1-gamma', '10', '--critic-norm', 'batch', '--loss', 'gan'], '--critic-norm', /batch is refused with --r1-gamma/],
  ];
  for (const [argv, flag, message] of cases) {
    const e = errorOf(() => cli(...argv));
    assert.ok(e instanceof tg.TorchError, `${argv.join(' ')}: a TorchError`);
    assert.ok(String(e.parameter).replace(/^--/, '') === flag.slice(2) || e.parameter === flag || flagName(String(e.parameter)) === flag, `${argv.join(' ')}: names ${flag}, got ${e.parameter}`);
    assert.match(e.message, flag, `${argv.join(' ')}: '${e.message}'`);
    assert.match(e.message, message, `${argv.join(' ')}: '${e.message}'`);
  }
  // the library's own names when used without the CLI
  assert.match(errorOf(() => resolveRunConfig({ emaDecay: 2 } as RunSpec, ds)).message, /^emaDecay must be at most 1/);
  assert.match(errorOf(() => resolveRunConfig({ criticSpectralNorm: 'yes' } as unknown as RunSpec, ds)).message, /criticSpectralNorm expects true or false, received 'yes'/);
});

test('--help of train, generate and evaluate lists the new flags (derived from RUN_OPTIONS for train)', () => {
  const train = helpText('t', trainFlags('mnist'));
  for (const f of ['--ema-decay X', '--ema-warmup', '--r1-gamma X', '--r2-gamma X', '--reg-every N', '--critic-spectral-norm', '--diff-augment VALUE', '--loss gan|wgan|wgan-gp|dragan|lsgan|hinge']) {
    assert.ok(train.split('\n').some((l) => l.startsWith(`  ${f}`)), `train --help: ${f}`);
  }
  assert.match(helpText('g', generateFlags), /--weights ema\|live/);
  assert.match(helpText('g', generateFlags), /--truncation X/);
  assert.match(helpText('e', evaluateFlags as unknown as FlagSpecs), /--log-dir VALUE/);
  assert.match(helpText('e', evaluateFlags as unknown as FlagSpecs), /--weights ema\|live/);
});

test('no feature may change on a resume (RUN_OPTIONS: not resumable)', () => {
  for (const k of ['emaDecay', 'emaWarmup', 'r1Gamma', 'r2Gamma', 'regEvery', 'criticSpectralNorm', 'diffAugment', 'precision'] as const) assert.not.ok(RUN_OPTIONS[k].resumable, k);
});

test('TrainingRun: lazy R1 gives the critic Adam lr·k/(k+1) and betas^(k/(k+1)); the generator keeps the recipe', async () => {
  const data = await loadRunData({ limit: 256 });
  const config = resolveRunConfig({ loss: 'gan', r1Gamma: 1, regEvery: 4, baseWidth: 8, batchSize: 16, noiseDim: 8, limit: 256 }, data);
  const run = TrainingRun.create(config, data);
  const g = run.optD.paramGroups[0] as unknown as { lr: number; betas: [number, number] };
  close([g.lr, g.betas[0], g.betas[1]], [2e-4 * 0.8, 0.5 ** 0.8, 0.999 ** 0.8], 1e-12, 'optD');
  const gg = run.optG.paramGroups[0] as unknown as { lr: number; betas: [number, number] };
  assert.equal([gg.lr, gg.betas], [2e-4, [0.5, 0.999]]);
  run.dispose();
  const eager = TrainingRun.create(resolveRunConfig({ loss: 'gan', r1Gamma: 1, baseWidth: 8, batchSize: 16, noiseDim: 8, limit: 256 }, data), data);
  assert.is((eager.optD.paramGroups[0] as unknown as { lr: number }).lr, 2e-4, 'regEvery 1: no correction');
  eager.dispose();
});

test.run();
