// Each seed's command line, translated to `torch-gan train|generate` and run as the installed CLI
// runs it (lib/cli/main.ts in a child process, in a fresh working folder), a few iterations long:
// exit codes, the artefacts written, and the refusals' messages. Seeds: 000 (DL4S WGAN-GP, MNIST,
// images into ./generated), 001 (nnabla WGAN-GP on CIFAR-10, -c cudnn -d 0, --up, generate from
// --model-load-path), 002 (Keras WGAN: its flag spellings, celebA, the toy experiment).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import * as tg from '../lib';
import { parseFlags } from '../lib/cli/args';
import { trainFlags, trainRun } from '../lib/cli/train-run';
import { latestCheckpoint } from '../lib/gan/checkpoint';
import { loadSafetensors } from '../lib/io/safetensors';
import { decodePng } from '../lib/io/png';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-seeds-'));
const tsx = pathToFileURL(require.resolve('tsx', { paths: [root] })).href;
const MAIN = `require(${JSON.stringify(path.join(root, 'lib/cli/main.ts'))}).main(process.argv.slice(1)) || process.exit(2)`;
const haveCuda = tg.cuda.isAvailable();

/** `torch-gan <args>` in folder `cwd` (created), one libtorch thread. */
function cli(cwd: string, ...args: string[]) {
  fs.mkdirSync(cwd, { recursive: true });
  const r = spawnSync(process.execPath, ['--import', tsx, '-e', MAIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, TORCH_GAN_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}
const exists = (dir: string, ...files: string[]) => {
  for (const f of files) assert.ok(fs.existsSync(path.join(dir, f)), `${f} is missing in ${dir}`);
};
const pngSize = (file: string) => {
  const p = decodePng(fs.readFileSync(file));
  return [p.width, p.height];
};
const configOf = (ckptRoot: string) => latestCheckpoint(ckptRoot).state.config as Record<string, unknown>;
// small networks and data so each run is a second or two; they do not change what a flag means
const SMALL = ['--limit', '64', '--base-width', '8', '--noise-dim', '16'];

test('seed 000 (`swift run -c release`: WGAN-GP on MNIST, images into ./generated): `torch-gan train` writes ./generated', () => {
  const cwd = path.join(tmp, 's000');
  const r = cli(cwd, 'train', '--iters', '2', '--batch-size', '16', ...SMALL);
  assert.is(r.status, 0, r.all);
  const out = path.join(cwd, 'generated');
  exists(out, 'latest.png', 'samples/step-00000002.png', 'progress.gif', 'losses.jsonl', 'checkpoints/latest.json');
  const c = configOf(path.join(out, 'checkpoints'));
  assert.equal([c.loss, c.dataset, c.sampleEvery], ['wgan-gp', 'mnist', 100]);
  assert.equal(pngSize(path.join(out, 'latest.png')), [8 * 28 + 9 * 2, 8 * 28 + 9 * 2], 'an 8x8 grid of digits');
  // seed 000 wrote a grid every 1000 iterations: --sample-every 1000 (the default, 100, suits the default 1000-iteration run)
  const r2 = cli(cwd, 'train', '--iters', '3', '--sample-every', '1000', '--batch-size', '16', '--out', 'every1000', ...SMALL);
  assert.is(r2.status, 0, r2.all);
  assert.equal(fs.readdirSync(path.join(cwd, 'every1000', 'samples')), ['step-00000003.png'], 'only the last iteration before 1000');
});

test('seed 001 train (`-c cudnn -d 0 -b 64 --up nearest --monitor-path wgan-gp-000`, CIFAR-10): CUDA, else a clear refusal', () => {
  const cwd = path.join(tmp, 's001');
  const r = cli(cwd, 'train', '--dset', 'cifar10', '-c', 'cudnn', '-d', '0', '-b', '64', '--up', 'nearest', '--monitor-path', 'wgan-gp-000', '--iters', '2');
  assert.is(r.status, 2, r.all);
  assert.match(r.stdout, /note: -c cudnn -d 0 is --device cuda:0/);
  if (!haveCuda) assert.match(r.stderr, /error: --device cuda:0: CUDA is not available .*use --device cpu/);
  else assert.match(r.stderr, /CIFAR-10 train batches not found.*--dset cifar10: the folder is --data DIR/);
  // on the CPU: the CIFAR-10 data is not on this machine; the error names the folder to pass
  const cpu = cli(cwd, 'train', '--dset', 'cifar10', '-b', '64', '--up', 'nearest', '--monitor-path', 'wgan-gp-000', '--iters', '2');
  assert.is(cpu.status, 2, cpu.all);
  assert.match(cpu.stderr, /CIFAR-10 train batches not found.*cifar-10-binary\.tar\.gz.*\(--dset cifar10: the folder is --data DIR\)/);
});

test('seed 001 on MNIST, then its generate command: -b, --up, --model-load-path, --monitor-path', () => {
  const cwd = path.join(tmp, 's001');
  const t = cli(cwd, 'train', '-b', '16', '--up', 'nearest', '--monitor-path', 'wgan-gp-000', '--iters', '2', ...SMALL);
  assert.is(t.status, 0, t.all);
  const c = configOf(path.join(cwd, 'wgan-gp-000', 'checkpoints'));
  assert.equal([c.batchSize, c.upsampling], [16, 'nearest']);
  // as written: -d 0 is cuda:0
  const asWritten = cli(cwd, 'generate', '-d', '0', '-b', '64', '--up', 'nearest', '--model-load-path', 'wgan-gp-000/params_99999.h5', '--monitor-path', 'wgan-gp-000');
  if (!haveCuda) {
    assert.is(asWritten.status, 2, asWritten.all);
    assert.match(asWritten.stderr, /--device cuda:0: CUDA is not available/);
  } else {
    assert.is(asWritten.status, 2, asWritten.all);
    assert.match(asWritten.stderr, /params_99999\.h5: no such file/);
  }
  // without -d 0: nnabla's params_N.h5 file is refused, naming the checkpoints folder to pass
  const h5 = cli(cwd, 'generate', '-b', '64', '--up', 'nearest', '--model-load-path', 'wgan-gp-000/params_99999.h5', '--monitor-path', 'wgan-gp-000');
  assert.is(h5.status, 2, h5.all);
  assert.match(h5.stderr, /--model-load-path wgan-gp-000\/params_99999\.h5: no such file or folder; torch-gan checkpoints are folders .*not \.h5 files.*found: .*wgan-gp-000\/checkpoints, latest ckpt-00000002 at iteration 2: pass --model-load-path wgan-gp-000\/checkpoints/);
  // the run folder: its checkpoints; the output folder gets generated.png, 64 images (-b 64)
  const ok = cli(cwd, 'generate', '-b', '64', '--up', 'nearest', '--model-load-path', 'wgan-gp-000', '--monitor-path', 'wgan-gp-000');
  assert.is(ok.status, 0, ok.all);
  assert.equal(pngSize(path.join(cwd, 'wgan-gp-000', 'generated.png')), [8 * 28 + 9 * 2, 8 * 28 + 9 * 2]);
  // a file inside a checkpoint folder: that folder
  const file = cli(cwd, 'generate', '-b', '16', '--model-load-path', 'wgan-gp-000/checkpoints/ckpt-00000002/generator.safetensors', '--out', 'g16.png');
  assert.is(file.status, 0, file.all);
  assert.match(file.stdout, /using the checkpoint folder .*ckpt-00000002/);
  assert.equal(pngSize(path.join(cwd, 'g16.png')), [8 * 28 + 9 * 2, 2 * 28 + 3 * 2]);
  // --up other than the checkpoint's is refused (the architecture comes from the checkpoint)
  const up = cli(cwd, 'generate', '--up', 'linear', '--model-load-path', 'wgan-gp-000', '--out', 'never.png');
  assert.is(up.status, 2, up.all);
  assert.match(up.stderr, /--up bilinear contradicts the checkpoint's generator nearest/);
});

test('seed 002 image commands: --backend noted and ignored, celebA case-insensitive, needs --data', () => {
  const cwd = path.join(tmp, 's002');
  for (const args of [['--backend', 'tensorflow', '--generator', 'deconv', '--dset', 'celebA'], ['--dset', 'celebA', '--img_dim', '64']]) {
    const r = cli(cwd, 'train', ...args, '--iters', '2');
    assert.is(r.status, 2, r.all);
    assert.match(r.stderr, /error: --dset celeba needs --data DIR \(a folder of CelebA images/);
    if (args[0] === '--backend') assert.match(r.stdout, /note: --backend tensorflow ignored: torch-gan runs on libtorch/);
  }
  const bn = cli(cwd, 'train', '--bn_mode', '2', '--iters', '2');
  assert.is(bn.status, 2);
  assert.match(bn.stderr, /--bn_mode \(--norm\) 2: Keras 1's BatchNormalization mode \(seed 002\), not a torch-gan value; .*instance \(default\), batch, layer or none/);
  const backend = cli(cwd, 'train', '--backend', 'cntk');
  assert.is(backend.status, 2);
  assert.match(backend.stderr, /--backend expects one of tensorflow, theano, received 'cntk'/);
});

const TOY = ['--backend', 'tensorflow', '--generator', 'deconv', '--dset', 'toy', '--lr_G', '1E-3', '--lr_D', '1E-3', '--clamp_lower', '-0.5', '--clamp_upper', '0.5', '--batch_size', '512', '--noise_dim', '128'];

test("seed 002's toy experiment: as written (no --loss) refused; with --loss wgan it runs the recipe and writes scatter plots", () => {
  const cwd = path.join(tmp, 's002');
  const refused = cli(cwd, 'train', ...TOY, '--nb_epoch', '1', '--n_batch_per_epoch', '2');
  assert.is(refused.status, 2, refused.all);
  assert.match(refused.stderr, /--clamp-lower applies only to --loss wgan \(weight clipping\), received --loss wgan-gp: add --loss wgan/);
  const r = cli(cwd, 'train', '--loss', 'wgan', ...TOY, '--nb_epoch', '1', '--n_batch_per_epoch', '2', '--sample-every', '1', '--out', 'toy');
  assert.is(r.status, 0, r.all);
  assert.match(r.stdout, /note: --generator deconv ignored with --dset toy/);
  assert.match(r.stdout, /modes covered: \d\/8/);
  const out = path.join(cwd, 'toy');
  exists(out, 'latest.png', 'samples/step-00000001.png', 'samples/step-00000002.png', 'progress.gif', 'losses.svg', 'checkpoints/latest.json');
  assert.equal(pngSize(path.join(out, 'latest.png')), [480, 480], 'a scatter plot, not an image grid');
  assert.is(fs.readFileSync(path.join(out, 'progress.gif')).subarray(0, 6).toString(), 'GIF89a');
  const c = configOf(path.join(out, 'checkpoints'));
  assert.equal([c.loss, c.dataset, c.toy, c.iters, c.batchSize, c.noiseDim, c.lrD, c.lrG, c.clampLower, c.clampUpper, c.optD, c.optG, c.nCritic],
    ['wgan', 'toy', '8gaussians', 2, 512, 128, 1e-3, 1e-3, -0.5, 0.5, 'rmsprop', 'rmsprop', 5]);
  // the critic's weights are clipped into [-0.5, 0.5]; the networks are the toy MLPs (noise 128 -> 2-D points)
  const { dir } = latestCheckpoint(path.join(out, 'checkpoints'));
  const critic = loadSafetensors(path.join(dir, 'critic.safetensors'));
  for (const [k, t] of Object.entries(critic)) {
    assert.ok(tg.tidy(() => t.abs().max().item()) <= 0.5 + 1e-7, `critic ${k} outside the clamp`);
  }
  const g = loadSafetensors(path.join(dir, 'generator.safetensors'));
  assert.equal(g['0.weight'].shape, [128, 128]);
  assert.equal(g['6.weight'].shape, [2, 128]);
  for (const t of [...Object.values(critic), ...Object.values(g)]) t.dispose();
  // generate on the toy checkpoint: a scatter plot
  const gen = cli(cwd, 'generate', '--checkpoint', 'toy/checkpoints', '--out', 'toy-samples.png');
  assert.is(gen.status, 0, gen.all);
  assert.equal(pngSize(path.join(cwd, 'toy-samples.png')), [480, 480]);
  assert.match(gen.stdout, /wgan on 8gaussians/);
  const interp = cli(cwd, 'generate', '--checkpoint', 'toy/checkpoints', '--interpolate', '4');
  assert.is(interp.status, 2);
  assert.match(interp.stderr, /--interpolate is for image runs; .* is a toy run \(8gaussians\)/);
});

test('toy refusals name the flag: image-only flags, --toy without --dset toy, epochs without n-batch-per-epoch, -c cpu -d 0', () => {
  const cwd = path.join(tmp, 'refusals');
  const cases: [string[], RegExp][] = [
    [['--dset', 'toy', '--img_dim', '28'], /--img-dim does not apply to --dset toy/],
    [['--dset', 'toy', '--limit', '10'], /--limit does not apply to --dset toy/],
    [['--dset', 'toy', '--bn-mode', 'none'], /--bn-mode does not apply to --dset toy \(the toy networks are MLPs/],
    [['--toy', 'swissroll'], /--toy applies only with --dataset toy, received --dataset mnist/],
    [['--dset', 'toy', '--nb_epoch', '2'], /--nb_epoch with --dset toy needs --n-batch-per-epoch/],
    [['--dset', 'toy', '--toy', 'spiral'], /--toy expects one of 8gaussians, 25gaussians, swissroll, received 'spiral'/],
    [['-c', 'cpu', '-d', '0'], /-c cpu contradicts -d 0 \(cuda:0\)/],
    [['-x', '1'], /unknown flag -x/],
    [['-b', 'many'], /-b \(--batch-size\) expects an integer, received 'many'/],
    [['--up', 'linear', '--generator', 'nearest'], /--generator nearest and --up linear are the same flag \(--upsampling\) with different values/],
  ];
  for (const [args, msg] of cases) {
    const r = cli(cwd, 'train', ...args, '--iters', '1', '--out', 'never');
    assert.is(r.status, 2, `${args.join(' ')}: ${r.all}`);
    assert.match(r.stderr, msg);
    assert.not.ok(fs.existsSync(path.join(cwd, 'never', 'checkpoints')), 'no training');
  }
});

const quiet = () => {};
const toyFlags = (...extra: string[]) => parseFlags(['--dset', 'toy', '--batch-size', '64', '--base-width', '16', '--noise-dim', '8', '--seed', '5', '--sample-every', '100', ...extra], trainFlags('mnist'));

test('toy runs: 2 + 2 iterations with a resume in between give the same weights as 4 straight (25 Gaussians, wgan)', async () => {
  const straight = path.join(tmp, 'toy-straight');
  const split = path.join(tmp, 'toy-split');
  const common = ['--toy', '25gaussians', '--loss', 'wgan', '--clamp-lower', '-0.1', '--clamp-upper', '0.1'];
  await trainRun(toyFlags(...common, '--iters', '4', '--checkpoint-every', '4', '--out', straight), quiet);
  await trainRun(toyFlags(...common, '--iters', '2', '--checkpoint-every', '2', '--out', split), quiet);
  const r = await trainRun(parseFlags(['--iters', '4', '--out', split, '--resume'], trainFlags('mnist')), quiet);
  assert.equal([r.config.toy, r.config.loss, r.config.clampLower, r.config.clampUpper], ['25gaussians', 'wgan', -0.1, 0.1], 'the settings come from the checkpoint');
  const a = latestCheckpoint(path.join(straight, 'checkpoints'));
  const b = latestCheckpoint(path.join(split, 'checkpoints'));
  assert.is(b.state.step, 4);
  for (const file of ['generator.safetensors', 'critic.safetensors', 'opt_d.safetensors', 'opt_g.safetensors']) {
    const ta = loadSafetensors(path.join(a.dir, file));
    const tb = loadSafetensors(path.join(b.dir, file));
    assert.equal(Object.keys(ta), Object.keys(tb));
    for (const k of Object.keys(ta)) {
      const diff = tg.tidy(() => ta[k].to(undefined, 'float64').sub(tb[k].to(undefined, 'float64')).abs().max().item());
      assert.is(diff, 0, `${file} ${k} differs by ${diff}`);
    }
    for (const t of [...Object.values(ta), ...Object.values(tb)]) t.dispose();
  }
  assert.equal(a.state.extra!.loader, b.state.extra!.loader, 'the toy stream continues where it stopped');
});

test('every loss of the engine trains on a toy set (gan, wgan, wgan-gp, dragan; the swiss roll has no modes)', async () => {
  for (const loss of ['gan', 'wgan', 'wgan-gp', 'dragan']) {
    const r = await trainRun(toyFlags('--loss', loss, '--toy', loss === 'gan' ? 'swissroll' : '8gaussians', '--iters', '2', '--out', path.join(tmp, `toy-${loss}`)), quiet);
    assert.ok(Number.isFinite(r.last!.criticLoss) && Number.isFinite(r.last!.generatorLoss), loss);
    assert.is(r.config.loss, loss);
    if (loss === 'gan') assert.is(r.modes, undefined, 'no modes for the swiss roll');
    else assert.ok(r.modes && r.modes.modes === 8 && r.modes.modesCovered >= 0 && r.modes.modesCovered <= 8, loss);
    if (loss === 'wgan-gp' || loss === 'dragan') assert.ok(r.last!.penalty > 0, `${loss} has a penalty`);
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
