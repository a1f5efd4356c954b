// The pretrained generators in models/pretrained: each is a complete generator checkpoint whose
// metrics.json evaluates the same step, loads strictly into the architecture its config names,
// and the CLI's --pretrained / --checkpoint choice is checked by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { PRETRAINED_DIR, pretrainedNames } from '../lib/cli/pretrained';
import { buildGenerator } from '../lib/gan/run';
import { checkSavedRunConfig } from '../lib/gan/resume';

const root = path.join(__dirname, '..');
const MAIN = `require(${JSON.stringify(path.join(root, 'lib/cli/main.ts'))}).main(process.argv.slice(1)) || process.exit(2)`;
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', '-e', MAIN, '--', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, TORCH_GAN_NUM_THREADS: '1' } });

test('every shipped generator: state.json and metrics.json agree, the weights load strictly, the samples are images in [-1, 1]', () => {
  const names = pretrainedNames();
  assert.ok(names.includes('fashion') && names.includes('mnist'), `shipped: ${names}`);
  for (const name of names) {
    const dir = path.join(PRETRAINED_DIR, name);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    assert.is(metrics.step, state.step, `${name}: metrics of the shipped step`);
    assert.ok(Number.isFinite(metrics.evaluation.generated.fid), `${name}: an FID`);
    assert.type(metrics.command, 'string');
    const config = checkSavedRunConfig(state.config, path.join(dir, 'state.json'));
    const g = buildGenerator(config);
    const r = tg.loadModule(g, path.join(dir, 'generator.safetensors'));
    assert.equal([r.missingKeys, r.unexpectedKeys], [[], []], `${name}: strict load`);
    g.eval();
    const x = tg.tidy(() => tg.noGrad(() => g.forward(tg.randn([4, config.noiseDim, 1, 1])) as tg.Tensor));
    assert.equal(x.shape, [4, config.channels, config.imgDim, config.imgDim]);
    assert.ok((x.abs().max().item() as number) <= 1);
    x.dispose();
    g.dispose();
  }
});

test('--pretrained and --checkpoint: exactly one, named in the error', () => {
  const both = cli(['generate', '--pretrained', 'fashion', '--checkpoint', 'x', '--out', '/tmp/x.png']);
  assert.is(both.status, 2);
  assert.match(both.stderr, /--checkpoint and --pretrained name two generators/);
  const none = cli(['generate']);
  assert.is(none.status, 2);
  assert.match(none.stderr, /--checkpoint DIR .* or --pretrained NAME \(shipped: .*fashion.*\) is required/);
  const ev = cli(['evaluate']);
  assert.is(ev.status, 2);
  assert.match(ev.stderr, /or --dset mnist\|fashion alone for the real-vs-real baselines/);
});

test('a pretrained export of an EMA run samples its EMA weights, says so, and refuses --weights live', () => {
  const dir = path.join(PRETRAINED_DIR, 'mnist');
  assert.is(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).extra.weights, 'generator_ema');
  const out = path.join(fs.mkdtempSync(path.join(require('os').tmpdir(), 'tg-pre-')), 'g.png');
  const ok = cli(['generate', '--pretrained', 'mnist', '--n', '8', '--out', out]);
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wgan-gp on mnist, ema weights/);
  assert.ok(fs.statSync(out).size > 0);
  const live = cli(['generate', '--pretrained', 'mnist', '--weights', 'live', '--out', out]);
  assert.is(live.status, 2);
  assert.match(live.stderr, /--weights live: .* ships only the run's EMA weights/);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
});

test.run();
