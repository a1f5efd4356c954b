// The main job end to end: examples/mnist.ts's engine on a small real subset
// produces every artefact; resume is exact; checkpoints survive a kill; bad flags exit 2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { parseFlags } from '../lib/cli/args';

// `torch-gan <command>` as scripts/cli.js runs it, from the TypeScript source (not dist/)
const CLI_FROM_SOURCE = "require('./lib/cli/main').main(process.argv.slice(1)) || process.exit(2)";
import { trainFlags, trainRun, buildModels, RunConfig } from '../lib/cli/train-run';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../lib/gan/checkpoint';
import { loadSafetensors } from '../lib/io/safetensors';
import { decodePng } from '../lib/io/png';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-cli-'));
const quiet = () => {};
// Small and fast: 256 real digits, a narrow network, batch 16.
const small = ['--limit', '256', '--batch-size', '16', '--base-width', '8', '--noise-dim', '16', '--seed', '3'];
const flags = (...extra: string[]) => parseFlags([...small, ...extra], trainFlags('mnist'));

test('a short run writes grids, latest.png, losses (JSONL + plot), the GIF and a loadable checkpoint', async () => {
  const out = path.join(tmp, 'run');
  const r = await trainRun(flags('--iters', '4', '--sample-every', '2', '--checkpoint-every', '2', '--out', out), quiet);
  for (const f of ['latest.png', 'losses.svg', 'losses.jsonl', 'progress.gif', 'config.json', 'samples/step-00000002.png', 'samples/step-00000004.png']) {
    assert.ok(fs.existsSync(path.join(out, f)), `${f} is missing`);
  }
  const grid = decodePng(fs.readFileSync(path.join(out, 'latest.png')));
  assert.equal([grid.width, grid.height], [8 * 28 + 9 * 2, 8 * 28 + 9 * 2], '8x8 grid of 28x28 with padding 2');
  assert.is(fs.readFileSync(path.join(out, 'progress.gif')).subarray(0, 6).toString(), 'GIF89a');
  const plot = fs.readFileSync(path.join(out, 'losses.svg'), 'utf8');
  assert.match(plot, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(plot.includes('data-series="0"') && plot.includes('data-series="1"'), 'the critic and generator losses drawn');
  const rows = fs.readFileSync(path.join(out, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.map((x) => x.iter), [1, 2, 3, 4]);
  assert.ok(rows.every((x) => Number.isFinite(x.criticLoss) && Number.isFinite(x.generatorLoss) && x.penalty > 0));
  const { state, dir } = latestCheckpoint(path.join(out, 'checkpoints'));
  assert.is(state.step, 4);
  const g = loadSafetensors(path.join(dir, 'generator.safetensors'));
  assert.equal(g['0.weight'].shape, [16, 32, 4, 4], "PyTorch's Sequential key names and ConvTranspose2d(z=16, 4f=32, 4) shape");
  for (const t of Object.values(g)) t.dispose();
  assert.is(r.config.loss, 'wgan-gp');
});

test('2 + 2 iterations with a resume in between give the same weights as 4 straight', async () => {
  const straight = path.join(tmp, 'straight');
  const split = path.join(tmp, 'split');
  await trainRun(flags('--iters', '4', '--checkpoint-every', '4', '--sample-every', '100', '--out', straight), quiet);
  await trainRun(flags('--iters', '2', '--checkpoint-every', '2', '--sample-every', '100', '--out', split), quiet);
  await trainRun(flags('--iters', '4', '--checkpoint-every', '2', '--sample-every', '100', '--out', split, '--resume'), quiet);
  const a = latestCheckpoint(path.join(straight, 'checkpoints'));
  const b = latestCheckpoint(path.join(split, 'checkpoints'));
  assert.is(b.state.step, 4);
  for (const file of ['generator.safetensors', 'critic.safetensors', 'opt_d.safetensors']) {
    const ta = loadSafetensors(path.join(a.dir, file));
    const tb = loadSafetensors(path.join(b.dir, file));
    assert.equal(Object.keys(ta), Object.keys(tb));
    for (const k of Object.keys(ta)) {
      const diff = tg.tidy(() => ta[k].to(undefined, 'float64').sub(tb[k].to(undefined, 'float64')).abs().max().item());
      assert.is(diff, 0, `${file} ${k} differs by ${diff}`);
    }
    for (const t of [...Object.values(ta), ...Object.values(tb)]) t.dispose();
  }
  const rows = fs.readFileSync(path.join(split, 'losses.jsonl'), 'utf8').trim().split('\n');
  assert.is(rows.length, 4, 'the loss log continues without duplicates');
});

test('a checkpoint writer killed at random moments always leaves a loadable checkpoint', async () => {
  const dir = path.join(tmp, 'kill');
  const cfg = { imgDim: 28, noiseDim: 8, baseWidth: 8, channels: 1, upsampling: 'deconv', generatorNorm: 'instance', criticNorm: 'instance', loss: 'wgan-gp', device: 'cpu' } as const;
  const { generator, critic } = buildModels(cfg);
  saveCheckpoint(dir, { generator, critic }, { step: 1, config: { ...cfg } });
  const script = `
    const { buildModels } = require(${JSON.stringify(path.join(root, 'lib/cli/train-run.ts'))});
    const { saveCheckpoint } = require(${JSON.stringify(path.join(root, 'lib/gan/checkpoint.ts'))});
    const cfg = ${JSON.stringify(cfg)};
    const { generator, critic } = buildModels(cfg);
    process.stdout.write('ready\\n');
    for (let step = 2; ; step++) saveCheckpoint(${JSON.stringify(dir)}, { generator, critic }, { step, config: cfg });
  `;
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 150 + 200 * Math.random()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const { state } = latestCheckpoint(dir);
    const g2 = buildModels(cfg).generator;
    const st = loadCheckpoint(dir, { generator: g2 }, { restoreRng: false });
    assert.is(st.step, state.step);
    g2.dispose();
  }
  generator.dispose();
  critic.dispose();
});

test('bad flags exit with code 2 and a message naming the flag, before any work', () => {
  const cases: [string[], RegExp][] = [
    [['--loss', 'nope'], /--loss expects one of gan, wgan, wgan-gp, dragan, lsgan, hinge, received 'nope'/],
    [['--batch-size', '0'], /--batch-size must be at least 1, received 0/],
    [['--iters', '1.5'], /--iters expects an integer, received '1.5'/],
    [['--bogus'], /unknown flag --bogus/],
    [['--lr-d', 'fast'], /--lr-d expects a number, received 'fast'/],
  ];
  for (const [args, msg] of cases) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/mnist.ts', ...args, '--out', path.join(tmp, 'never')], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.not.ok(fs.existsSync(path.join(tmp, 'never')), 'no work was started');
  }
});

test('generate.ts samples a grid from the checkpoint; a corrupt checkpoint is a clear error', () => {
  const ckpt = path.join(tmp, 'run', 'checkpoints');
  const out = path.join(tmp, 'gen.png');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', CLI_FROM_SOURCE, 'generate', '--checkpoint', ckpt, '--n', '16', '--nrow', '4', '--out', out], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const png = decodePng(fs.readFileSync(out));
  assert.equal([png.width, png.height], [4 * 28 + 5 * 2, 4 * 28 + 5 * 2]);
  const { dir } = latestCheckpoint(ckpt);
  fs.writeFileSync(path.join(dir, 'generator.safetensors'), Buffer.from('not a safetensors file'));
  const bad = spawnSync(process.execPath, ['--import', 'tsx', '-e', CLI_FROM_SOURCE, 'generate', '--checkpoint', ckpt, '--out', out], { cwd: root, encoding: 'utf8' });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /generator\.safetensors/);
  assert.not.match(bad.stderr, /\.cc:\d+/);
});

test('the config saved with a run rebuilds the same architecture', () => {
  const { state } = latestCheckpoint(path.join(tmp, 'straight', 'checkpoints'));
  const c = state.config as unknown as RunConfig;
  assert.equal([c.loss, c.nCritic, c.lrD, [c.beta1, c.beta2], c.lambda, c.criticNorm], ['wgan-gp', 5, 1e-4, [0.5, 0.9], 10, 'instance']);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
