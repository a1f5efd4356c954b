// A resume continues the checkpoint's run or is refused with a message naming what is wrong:
// the data set and settings come from the checkpoint; flags that contradict it, other data,
// a broken state.json / optimizer / RNG file are refused naming the file; a torn losses.jsonl
// line does not block it; stale temporaries of dead writers are cleaned; one writer per folder.
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
import { readRows } from '../lib/gan/artefacts';
import { latestCheckpoint } from '../lib/gan/checkpoint';
import { LOCK_FILE, lockRunDir } from '../lib/gan/run-lock';
import { loadRunData } from '../lib/gan/run';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../lib/io/safetensors';
import { errorMessageAsync, isTorchError } from './helpers/errors';
import { testUnless } from './helpers/skip';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-resume-'));
const quiet = () => {};
const small = ['--batch-size', '16', '--base-width', '8', '--noise-dim', '16', '--seed', '3', '--sample-every', '100'];
const flags = (...extra: string[]) => parseFlags([...small, ...extra], trainFlags('mnist'));
const run = (...extra: string[]) => trainRun(flags(...extra), quiet);
/** A PID that was alive a moment ago and is not now. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

/** MNIST-format IDX files of n images whose pixels are (i * 7 + k + salt) mod 256. */
function writeIdx(dir: string, n: number, salt: number): string {
  return writeIdxFiles(dir, n, (i, k) => (i * 784 + k) * 7 + salt);
}

const fashionOut = path.join(tmp, 'fashion');
const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

const withFashion = testUnless(haveFashion ? null : 'no /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)');

withFashion('a Fashion-MNIST run resumed without --dset/--limit trains on Fashion-MNIST, 64 images, as its checkpoint says', async () => {
  await run('--dset', 'fashion', '--limit', '64', '--iters', '2', '--checkpoint-every', '2', '--out', fashionOut);
  const logs: string[] = [];
  const r = await trainRun(flags('--iters', '3', '--out', fashionOut, '--resume'), (m) => logs.push(m));
  assert.is(r.config.dataset, 'fashion');
  assert.is(r.config.limit, 64);
  assert.match(logs[0], /^data: Fashion-MNIST train .*\(64 images\)/);
  assert.is(latestCheckpoint(path.join(fashionOut, 'checkpoints')).state.step, 3);
});

test('flags that contradict the checkpoint are refused, naming both values and the file', async () => {
  const out = path.join(tmp, 'contradict');
  const data = writeIdx(path.join(tmp, 'idx-a'), 64, 0);
  await run('--data', data, '--iters', '2', '--checkpoint-every', '2', '--out', out);
  for (const [flag, value, was] of [['--batch-size', '32', '16'], ['--loss', 'gan', "'wgan-gp'"], ['--lr-d', '0.5', '0.0001'], ['--limit', '32', '\\(not set\\)'], ['--dset', 'fashion', "'mnist'"]]) {
    const m = await errorMessageAsync(() => run('--data', data, '--iters', '3', '--out', out, '--resume', flag, value));
    assert.match(m, new RegExp(`${flag} '?${value}'? contradicts the checkpoint's ${was} \\(.*state\\.json\\)`), m);
  }
  // changeable flags pass, and a flag equal to the checkpoint's is no contradiction
  const r = await run('--data', data, '--iters', '3', '--checkpoint-every', '3', '--out', out, '--resume', '--loss', 'wgan-gp');
  assert.is(r.config.iters, 3);
  assert.is(r.config.checkpointEvery, 3);
});

test('resuming on other data of the same size is refused by the data fingerprint', async () => {
  const out = path.join(tmp, 'fingerprint');
  await run('--data', writeIdx(path.join(tmp, 'idx-b'), 64, 0), '--iters', '2', '--checkpoint-every', '2', '--out', out);
  const other = writeIdx(path.join(tmp, 'idx-c'), 64, 1);
  const m = await errorMessageAsync(() => run('--data', other, '--iters', '3', '--out', out, '--resume'));
  assert.match(m, /state\.json: the data differs from the data this checkpoint was trained on: the same count and size but other images/);
  // the same images in another folder are the same data
  const moved = writeIdx(path.join(tmp, 'idx-b-moved'), 64, 0);
  assert.is((await run('--data', moved, '--iters', '3', '--out', out, '--resume')).config.data, moved);
});

test('an explicit --data never falls back to the npm digits: an empty folder, a folder where the file should be', async () => {
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  assert.match(await errorMessageAsync(() => loadRunData({ dataset: 'mnist', data: empty })), /no train-images-idx3-ubyte\(\.gz\) in .* and fallback is off/);
  const odd = path.join(tmp, 'odd');
  fs.mkdirSync(path.join(odd, 'train-images-idx3-ubyte'), { recursive: true });
  const m = await errorMessageAsync(() => run('--data', odd, '--iters', '1', '--out', path.join(tmp, 'odd-out')));
  assert.match(m, /fallback is off \('.*odd\/train-images-idx3-ubyte' is not a file\)/);
  assert.ok((await loadRunData({ dataset: 'mnist', limit: 10 })).n === 10, 'without --data the fallback (or ./MNIST) still serves');
});

/** A fresh 2-step checkpoint of the IDX data in its own out folder. */
async function checkpointed(name: string): Promise<{ out: string; dir: string; data: string }> {
  const out = path.join(tmp, name);
  const data = writeIdx(path.join(tmp, `idx-${name}`), 64, 0);
  await run('--data', data, '--iters', '2', '--checkpoint-every', '2', '--out', out);
  return { out, dir: latestCheckpoint(path.join(out, 'checkpoints')).dir, data };
}
const resume = (c: { out: string; data: string }) => run('--data', c.data, '--iters', '3', '--out', c.out, '--resume');

test('a state.json with a bad loss or batch size is refused naming the file and the field', async () => {
  for (const [key, value, expected] of [['loss', 'bogus', /config\.loss: expected one of gan, wgan, wgan-gp, dragan, lsgan, hinge, received "bogus"/], ['batchSize', 0, /config\.batchSize: expected an integer in \[1, 4096\], received 0/]] as const) {
    const c = await checkpointed(`state-${key}`);
    const file = path.join(c.dir, 'state.json');
    const st = JSON.parse(fs.readFileSync(file, 'utf8'));
    st.config[key] = value;
    fs.writeFileSync(file, JSON.stringify(st));
    const m = await errorMessageAsync(() => resume(c));
    assert.ok(m.includes(file), m);
    assert.match(m, expected);
  }
});

test('a checkpoint written before the one-config schema (dset, generator, clamp, betas) resumes with its settings', async () => {
  const c = await checkpointed('old-names');
  const file = path.join(c.dir, 'state.json');
  const st = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { dataset, upsampling, clampLower, clampUpper, beta1, beta2, ...rest } = st.config;
  // the names torch-gan 0.1 saved; a changed value shows the migration reads them (not the defaults)
  st.config = { ...rest, dset: dataset, generator: upsampling === 'deconv' ? 'deconv' : upsampling, clamp: { lower: clampLower, upper: clampUpper }, betas: [beta1, 0.95] };
  fs.writeFileSync(file, JSON.stringify(st));
  const r = await resume(c);
  assert.equal([r.config.dataset, r.config.upsampling, r.config.clampLower, r.config.clampUpper, r.config.beta1, r.config.beta2], [dataset, upsampling, clampLower, clampUpper, beta1, 0.95]);
  assert.is(r.config.iters, 3);
  for (const old of ['dset', 'generator', 'clamp', 'betas']) assert.not.ok(old in r.config, `${old} is gone from the upgraded config`);
});

test('an optimizer file missing state.0.expAvg is refused naming the file and the tensor (not "reading mul_")', async () => {
  const c = await checkpointed('opt');
  const file = path.join(c.dir, 'opt_d.safetensors');
  const meta = readSafetensorsHeader(file).metadata;
  const tensors = loadSafetensors(file);
  tensors['state.0.expAvg'].dispose();
  delete tensors['state.0.expAvg'];
  saveSafetensors(file, tensors, meta ?? undefined);
  for (const t of Object.values(tensors)) t.dispose();
  const m = await errorMessageAsync(() => resume(c));
  assert.ok(m.includes(file), m);
  assert.match(m, /parameter 0 lacks its 'expAvg' tensor \(state\.0\.expAvg\), which Adam needs/);
});

test('an RNG state of the wrong size is refused naming rng.safetensors', async () => {
  const c = await checkpointed('rng');
  const file = path.join(c.dir, 'rng.safetensors');
  saveSafetensors(file, { cpu: tg.zeros([10], { dtype: 'uint8' }) });
  const m = await errorMessageAsync(() => resume(c));
  assert.match(m, new RegExp(`${file.replace(/[.]/g, '\\.')}: 'cpu' must be a uint8 tensor of \\d+ bytes .*received a uint8 tensor of 10 elements`));
});

test('a torn last line of losses.jsonl is dropped with a warning; a garbled middle line names file and line', async () => {
  const c = await checkpointed('torn');
  const lossFile = path.join(c.out, 'losses.jsonl');
  fs.appendFileSync(lossFile, '{"iter": 3, "criticLoss": -1.2');
  const warnings: string[] = [];
  assert.is(readRows(lossFile, (m) => warnings.push(m)).length, 2);
  assert.match(warnings[0], /losses\.jsonl: dropped its last line, garbled/);
  const r = await resume(c);
  assert.is(r.config.iters, 3);
  assert.equal(fs.readFileSync(lossFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l).iter), [1, 2, 3]);
  const lines = fs.readFileSync(lossFile, 'utf8').split('\n');
  lines[1] = '{"iter": 2, "crit';
  fs.writeFileSync(lossFile, lines.join('\n'));
  assert.match(await errorMessageAsync(async () => readRows(lossFile)), /losses\.jsonl line 2: not a loss row/);
});

test('stale temporaries of dead writers are removed when a run opens the folder; a live writer\'s are kept', async () => {
  const c = await checkpointed('stale');
  const ck = path.join(c.out, 'checkpoints');
  const dead = deadPid();
  const staleDir = path.join(ck, `.ckpt-00000004.tmp-${dead}`);
  fs.mkdirSync(staleDir);
  fs.writeFileSync(path.join(staleDir, 'generator.safetensors'), Buffer.alloc(1000));
  const staleFile = path.join(ck, `.latest.json.${dead}.0123456789ab.tmp`);
  fs.writeFileSync(staleFile, '{');
  const live = path.join(ck, `.ckpt-00000006.tmp-${process.pid}`);
  fs.mkdirSync(live);
  await resume(c);
  assert.ok(!fs.existsSync(staleDir), 'the dead writer\'s temporary folder is gone');
  assert.ok(!fs.existsSync(staleFile), 'the dead writer\'s temporary file is gone');
  assert.ok(fs.existsSync(live), 'a live process\'s temporary is not touched');
  fs.rmSync(live, { recursive: true });
});

test('one writer per run folder: a second lock is refused naming the holder; a dead holder\'s lock is taken over', async () => {
  const dir = path.join(tmp, 'locked');
  const a = lockRunDir(dir);
  assert.throws(() => lockRunDir(dir), isTorchError('ERR_RUN_LOCKED', new RegExp(`in use by another run \\(process ${process.pid}, this process`), { parameter: 'dir' }));
  const m = await errorMessageAsync(() => run('--iters', '1', '--out', dir));
  assert.match(m, /is in use by another run/);
  a.release();
  assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid() }));
  const b = lockRunDir(dir);
  assert.is(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  b.release();
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
