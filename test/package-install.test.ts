// The real install: npm pack, install the tarball into an empty project with no
// compiler reachable, import it, run an op and a double backward. Then the failure
// path: with libtorch hidden, the error names the fixes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';

const root = path.resolve(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-pack-'));
const project = path.join(work, 'app');
const bin = path.join(work, 'bin');

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd ?? root, env: opts.env ?? process.env, encoding: 'utf8', timeout: 300_000 });
}

// A PATH with node, npm and a shell, but no cc, c++, cmake or make.
function compilerlessEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  fs.mkdirSync(bin, { recursive: true });
  const link = (name: string, target: string) => {
    const p = path.join(bin, name);
    if (!fs.existsSync(p)) fs.symlinkSync(target, p);
  };
  link('node', process.execPath);
  const npmOnPath = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'npm')).find((p) => fs.existsSync(p));
  assert.ok(npmOnPath, 'npm must be on PATH');
  const npmCli = fs.realpathSync(npmOnPath!);
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  for (const tool of ['sh', 'env', 'uname', 'ls', 'rm', 'mkdir', 'cat', 'sed', 'tar', 'gzip', 'git']) {
    const found = ['/bin', '/usr/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
    if (found) link(tool, found);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, npm_config_audit: 'false', npm_config_fund: 'false', ...extra };
  for (const k of Object.keys(env)) if (k.startsWith('npm_lifecycle') || k === 'npm_config_local_prefix') delete env[k];
  return env;
}

const smoke = `
const tg = require('torch-gan');
const x = tg.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
const [g] = tg.autograd.grad(x.pow(3).sum(), x, { createGraph: true });
const [gg] = tg.autograd.grad(g.sum(), x);
const d = tg.diagnostics();
console.log(JSON.stringify({ sum: x.add(1).sum().item(), g: g.toArray(), gg: gg.toArray(), kind: d.addon.kind, file: require('path').basename(d.addon.file), version: d.libtorch.version, warnings: d.warnings }));
`;

let tarball = '';
// the flavour of the libtorch this suite runs on: the prebuild an installed copy must pick
const flavour = (() => {
  const [major, minor] = tg.diagnostics().libtorch.version.split('.');
  return `libtorch${major}_${minor}-${tg.diagnostics().libtorch.cudaCompiled ? 'cuda' : 'cpu'}`;
})();

test('npm pack ships the prebuild, compiled JS and sources, never libtorch', () => {
  const pre = run(process.execPath, [path.join(root, 'scripts', 'prebuild.js')]);
  assert.is(pre.status, 0, pre.stderr + pre.stdout);
  const pack = run('npm', ['pack', '--json', '--pack-destination', work]);
  assert.is(pack.status, 0, pack.stderr);
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0];
  tarball = path.join(work, info.filename);
  const files: string[] = info.files.map((f: { path: string }) => f.path);
  // the prebuild for this libtorch, and those CI made for the other legs (TORCH_GAN_EXPECT_PREBUILDS)
  const expected = [flavour, ...(process.env.TORCH_GAN_EXPECT_PREBUILDS ?? '').split(',').filter(Boolean)];
  for (const tag of expected) {
    assert.ok(files.includes(`prebuilds/linux-x64/torch-gan.napi.glibc.${tag}.node`), `no prebuild for ${tag} in the pack:\n${files.join('\n')}`);
  }
  assert.ok(files.includes('dist/index.js'));
  assert.ok(files.includes('scripts/find-libtorch.js'));
  assert.not.ok(files.some((f) => /lib(torch|c10)[^/]*\.so/.test(f)), 'libtorch libraries must not be packed');
  assert.not.ok(files.some((f) => f.startsWith('build/')), 'the local build must not be packed');
});

test('installs with --ignore-scripts and no compiler, then trains a double backward', () => {
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
  const env = compilerlessEnv();
  const inst = run('npm', ['install', tarball, '--ignore-scripts', '--omit=optional', '--no-package-lock'], { cwd: project, env });
  assert.is(inst.status, 0, inst.stderr);
  const r = run('node', ['-e', smoke], { cwd: project, env });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out, { sum: 9, g: [3, 12, 27], gg: [6, 12, 18], kind: 'prebuild', file: `torch-gan.napi.glibc.${flavour}.node`, version: tg.diagnostics().libtorch.version, warnings: [] });
});

test('the install script uses the prebuild without compiling', () => {
  const env = compilerlessEnv();
  const r = run('npm', ['rebuild', 'torch-gan', '--foreground-scripts'], { cwd: project, env });
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout + r.stderr, /using the prebuilt binary prebuilds\/linux-x64\/torch-gan\.napi\.glibc\.libtorch/);
});

// The package's main job with no repo checkout: the bin's train (real Fashion-MNIST from Debian's
// dataset-fashion-mnist), generate and evaluate (the shipped classifier weights).
const fashion = '/usr/share/datasets/fashion-mnist';
const mainJob = fs.existsSync(fashion) ? test : test.skip;
if (!fs.existsSync(fashion)) console.log(`package-install.test.ts: the main-job test is skipped: no ${fashion} (apt-get install dataset-fashion-mnist)`);
mainJob('npx torch-gan train --dset fashion, generate and evaluate run from the installed package', () => {
  const env = compilerlessEnv();
  const bin = path.join(project, 'node_modules', '.bin', 'torch-gan');
  assert.ok(fs.existsSync(bin), 'the torch-gan bin is installed');
  const out = path.join(work, 'run');
  const train = run(bin, ['train', '--dset', 'fashion', '--iters', '3', '--limit', '256', '--batch-size', '16', '--sample-every', '3', '--checkpoint-every', '3', '--out', out], { cwd: project, env });
  assert.is(train.status, 0, train.stderr + train.stdout);
  assert.match(train.stdout, /data: .*fashion/i);
  for (const f of ['latest.png', 'losses.jsonl', 'config.json']) assert.ok(fs.existsSync(path.join(out, f)), `${f} written`);
  const grid = path.join(work, 'grid.png');
  const gen = run(bin, ['generate', '--checkpoint', path.join(out, 'checkpoints'), '--n', '16', '--out', grid], { cwd: project, env });
  assert.is(gen.status, 0, gen.stderr + gen.stdout);
  assert.ok(fs.readFileSync(grid).subarray(1, 4).toString() === 'PNG', 'a PNG');
  const ev = run(bin, ['evaluate', '--checkpoint', path.join(out, 'checkpoints'), '--n', '200', '--kid-subsets', '2', '--kid-subset-size', '100', '--splits', '2'], { cwd: project, env });
  assert.is(ev.status, 0, ev.stderr + ev.stdout);
  assert.match(ev.stdout, /\| generated \(iteration 3\) \| 200 vs/);
  assert.match(ev.stdout, /classifier .*node_modules\/torch-gan\/models\/classifier-fashion\.safetensors/);
  // the shipped pretrained generator: a grid, and an evaluation a trained generator passes (the
  // classifier recognises its samples: score > 5 of 10 at 500 samples; an untrained one scores ~1-2)
  const pre = path.join(work, 'pretrained.png');
  const pg = run(bin, ['generate', '--pretrained', 'fashion', '--n', '16', '--out', pre], { cwd: project, env });
  assert.is(pg.status, 0, pg.stderr + pg.stdout);
  assert.match(pg.stdout, /node_modules\/torch-gan\/models\/pretrained\/fashion \(iteration \d+, wgan-gp on fashion, live weights\)/);
  const pe = run(bin, ['evaluate', '--pretrained', 'fashion', '--n', '500', '--kid-subsets', '2', '--kid-subset-size', '250', '--splits', '2', '--json', path.join(work, 'pre.json')], { cwd: project, env });
  assert.is(pe.status, 0, pe.stderr + pe.stdout);
  const score = JSON.parse(fs.readFileSync(path.join(work, 'pre.json'), 'utf8')).generated.score.mean;
  assert.ok(score > 5, `classifier score of the pretrained generator: ${score}`);
  const bad = run(bin, ['generate', '--pretrained', 'cifar'], { cwd: project, env });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--pretrained cifar: no such pretrained generator; this package ships fashion/);
  const usage = run(bin, ['bogus'], { cwd: project, env });
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /unknown command 'bogus'[\s\S]*train +train a GAN/);
});

test('with libtorch hidden, loading and installing fail with a message listing the fixes', () => {
  const env = compilerlessEnv({ LIBTORCH: path.join(work, 'no-libtorch-here') });
  const r = run('node', ['-e', "require('torch-gan')"], { cwd: project, env });
  assert.is.not(r.status, 0);
  for (const fix of [/apt-get install -y libtorch-dev/, /Set LIBTORCH/, /pip install torch/, /not a usable libtorch/]) assert.match(r.stderr, fix);
  assert.not.match(r.stderr, /^\s+at .*\.cc:\d+/m, 'no C++ backtrace');
  const inst = run('npm', ['rebuild', 'torch-gan', '--foreground-scripts'], { cwd: project, env });
  assert.is.not(inst.status, 0);
  assert.match(inst.stdout + inst.stderr, /libtorch-dev/);
});

test('no prebuild fits and no compiler: the install ends with torch-gan\'s message and the fixes', () => {
  // a libtorch of a version no prebuild was made for (only its files; nothing is loaded)
  const fake = path.join(work, 'libtorch-2.99');
  fs.mkdirSync(path.join(fake, 'share', 'cmake', 'Torch'), { recursive: true });
  fs.writeFileSync(path.join(fake, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
  fs.mkdirSync(path.join(fake, 'include', 'torch', 'headeronly'), { recursive: true });
  fs.writeFileSync(path.join(fake, 'include', 'torch', 'headeronly', 'version.h'), '#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 99\n#define TORCH_VERSION_PATCH 0\n');
  fs.mkdirSync(path.join(fake, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(fake, 'lib', 'libtorch_cpu.so'), '');
  const r = run('npm', ['rebuild', 'torch-gan', '--foreground-scripts'], { cwd: project, env: compilerlessEnv({ LIBTORCH: fake }) });
  assert.is.not(r.status, 0);
  const out = (r.stdout + r.stderr).trim();
  assert.match(out, /torch-gan: cannot compile the addon: cmake and c\+\+ not found on PATH/);
  assert.match(out, /apt-get install -y cmake g\+\+/);
  assert.match(out, /prebuilt addon/);
});

test.after(() => fs.rmSync(work, { recursive: true, force: true }));
test.run();
