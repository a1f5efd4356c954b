// The engine data-parallel, end to end through the CLI: `torch-gan launch --nproc 2 -- train
// --dset fashion` against one `train` process with the same global batch (the truth: the weights
// after the same iterations agree to float precision, and the losses the runs log are the global
// batch's), rank 0 alone writing; checkpoints resume on another world size (2 -> 1 and 1 -> 2);
// a global batch the ranks cannot split is refused by flag name; a rank killed mid-run makes the
// other fail with a clear error, and the run resumes from the last checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { freePort } from '../lib/cli/launch';
import { testUnless } from './helpers/skip';

const root = path.join(__dirname, '..');
const MAIN = `require(${JSON.stringify(path.join(root, 'lib/cli/main.ts'))}).main(process.argv.slice(1)) || process.exit(2)`;
const LAUNCH = `require(${JSON.stringify(path.join(root, 'lib/cli/launch.ts'))}).launchCommand(process.argv.slice(1))`;
const FASHION = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const avail = tg.distributed.distributedAvailability();
const reason = !avail.gloo ? `no Gloo: ${avail.glooReason}` : !fs.existsSync(FASHION) ? `Fashion-MNIST is not installed (${FASHION}; apt-get install dataset-fashion-mnist)` : null;
const dtest = testUnless(reason);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-dist-run-'));
const RUN = ['--dset', 'fashion', '--limit', '512', '--batch-size', '16', '--base-width', '8', '--checkpoint-every', '3', '--sample-every', '3', '--threads', '1'];

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TORCH_GAN_NUM_THREADS: '1', ...extra };
  for (const k of ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE']) if (!(k in extra)) delete env[k];
  return env;
}

function train(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', MAIN, '--', 'train', ...args], { cwd: root, encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
}

function launch(nproc: number, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', LAUNCH, '--', '--nproc', String(nproc), '--', 'train', ...args], { cwd: root, encoding: 'utf8', env: cleanEnv(), timeout: 180_000 });
}

/** The largest |a - b| over both networks' weights of two checkpoints. */
function maxWeightDiff(a: string, b: string): number {
  let worst = 0;
  for (const m of ['generator', 'critic']) {
    const x = tg.loadSafetensors(path.join(a, `${m}.safetensors`));
    const y = tg.loadSafetensors(path.join(b, `${m}.safetensors`));
    assert.equal(Object.keys(x).sort(), Object.keys(y).sort());
    for (const k of Object.keys(x)) {
      worst = Math.max(worst, x[k].sub(y[k]).abs().max().item() as number);
      x[k].dispose();
      y[k].dispose();
    }
  }
  return worst;
}

const rows = (out: string) => fs.readFileSync(path.join(out, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const ckpt = (out: string, step: number) => path.join(out, 'checkpoints', `ckpt-${String(step).padStart(8, '0')}`);

dtest('launch --nproc 2 -- train --dset fashion = one process with the same global batch; rank 0 alone writes', () => {
  const one = path.join(tmp, 'one');
  const two = path.join(tmp, 'two');
  const r1 = train([...RUN, '--iters', '6', '--out', one]);
  assert.is(r1.status, 0, r1.stderr);
  const r2 = launch(2, [...RUN, '--iters', '6', '--out', two]);
  assert.is(r2.status, 0, r2.stderr + r2.stdout);
  assert.match(r2.stdout, /\[rank 0\] data-parallel: rank 0 of 2/);
  assert.match(r2.stdout, /\[rank 1\] data-parallel: rank 1 of 2/);
  assert.match(r2.stdout, /batch 16 \(8 on each of 2 ranks\)/);
  assert.not.match(r2.stdout, /\[rank 1\] (data:|model:|\d+\/6|done:)/, 'rank 1 prints nothing but its rank line');
  const diff = maxWeightDiff(ckpt(one, 6), ckpt(two, 6));
  console.log(`  2 ranks x 8 vs 1 x 16, 6 WGAN-GP iterations: max |weight difference| ${diff.toExponential(2)}`);
  assert.ok(diff < 1e-5, `weights differ by ${diff}`);
  // one loss row per iteration (rank 1 wrote none), and they are the global batch's numbers
  const a = rows(one);
  const b = rows(two);
  assert.is(b.length, 6);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(a[i].criticLoss - b[i].criticLoss) <= 1e-4 * Math.max(1, Math.abs(a[i].criticLoss)), `iteration ${i + 1}: ${a[i].criticLoss} vs ${b[i].criticLoss}`);
  assert.equal(fs.readdirSync(path.join(two, 'samples')).sort(), ['step-00000003.png', 'step-00000006.png']);
  assert.equal(fs.readdirSync(path.join(two, 'checkpoints')).filter((f) => f.startsWith('ckpt-')).sort(), ['ckpt-00000003', 'ckpt-00000006']);
});

dtest('a checkpoint resumes on another world size: 2 -> 1 and 1 -> 2 processes continue the same run', () => {
  const straight = path.join(tmp, 'one'); // the first test's 6 iterations in one process
  const a = path.join(tmp, 'two-then-one');
  const r = launch(2, [...RUN, '--iters', '3', '--out', a]);
  assert.is(r.status, 0, r.stderr);
  const ra = train([...RUN, '--iters', '6', '--out', a, '--resume']);
  assert.is(ra.status, 0, ra.stderr);
  const b = path.join(tmp, 'one-then-two');
  const rb0 = train([...RUN, '--iters', '3', '--out', b]);
  assert.is(rb0.status, 0, rb0.stderr);
  const rb = launch(2, [...RUN, '--iters', '6', '--out', b, '--resume']);
  assert.is(rb.status, 0, rb.stderr + rb.stdout);
  assert.match(rb.stdout, /\[rank 0\] resuming from .*ckpt-00000003 \(iteration 3\)/);
  const da = maxWeightDiff(ckpt(straight, 6), ckpt(a, 6));
  const db = maxWeightDiff(ckpt(straight, 6), ckpt(b, 6));
  console.log(`  resumed 2 -> 1: ${da.toExponential(2)}, 1 -> 2: ${db.toExponential(2)} (max |weight difference| from the straight run)`);
  assert.ok(da < 1e-5 && db < 1e-5, `${da} ${db}`);
  assert.is(rows(a).length, 6);
  assert.is(rows(b).length, 6);
});

dtest('a global batch the ranks cannot split is refused by flag name before training', () => {
  const r = launch(2, [...RUN, '--batch-size', '15', '--iters', '2', '--out', path.join(tmp, 'odd')]);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /--batch-size is the global batch and must be a multiple of the world size 2/);
  assert.match(r.stderr, /received 15/);
  assert.not.match(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  assert.not.ok(fs.existsSync(path.join(tmp, 'odd', 'checkpoints', 'latest.json')));
});

dtest('a rank killed mid-run: the other fails with a clear error within the timeout; the run resumes from the last checkpoint', async () => {
  const out = path.join(tmp, 'killed');
  const port = await freePort();
  const args = [...RUN, '--iters', '400', '--out', out, '--dist-timeout', '20'];
  const procs = [0, 1].map((rank) => spawn(process.execPath, ['--import', 'tsx', '-e', MAIN, '--', 'train', ...args], {
    cwd: root, env: cleanEnv({ RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), LOCAL_RANK: String(rank) }), stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const err = ['', ''];
  procs.forEach((p, i) => p.stderr!.on('data', (c) => (err[i] += c)));
  procs.forEach((p) => p.stdout!.resume());
  const exited = procs.map((p) => new Promise<number | null>((res) => p.on('close', (code) => res(code))));
  // wait for the second checkpoint, then kill rank 1
  const t0 = Date.now();
  while (!fs.existsSync(ckpt(out, 6)) && Date.now() - t0 < 90_000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(fs.existsSync(ckpt(out, 6)), 'rank 0 wrote checkpoints');
  procs[1].kill('SIGKILL');
  const killedAt = Date.now();
  const code0 = await exited[0];
  const seconds = (Date.now() - killedAt) / 1000;
  await exited[1];
  console.log(`  rank 0 failed ${seconds.toFixed(2)} s after rank 1 was killed: ${err[0].trim().split('\n').pop()}`);
  assert.is.not(code0, 0);
  assert.ok(seconds < 25, `rank 0 took ${seconds} s`);
  assert.match(err[0], /rank|peer|connection|closed/i);
  assert.not.match(err[0], /c10::|Exception raised from/, 'no C++ backtrace');
  const latest = JSON.parse(fs.readFileSync(path.join(out, 'checkpoints', 'latest.json'), 'utf8'));
  const step = latest.step as number;
  assert.ok(step >= 6 && step % 3 === 0, `latest checkpoint at ${JSON.stringify(latest)}`);
  const r = train([...RUN, '--iters', String(step + 3), '--out', out, '--resume']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`resuming from .*\\(iteration ${step}\\)`));
  assert.ok(fs.existsSync(ckpt(out, step + 3)));
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
