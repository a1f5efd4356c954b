// `torch-gan launch --nproc N -- command`: N ranks of a tiny script (test/helpers/launch-child.js)
// through the CLI from source: each rank's environment, the [rank R] prefixes (and --output
// rank0), a failing rank stopping the others with its exit code and a message naming it,
// SIGKILL after --kill-grace, a terminal's Ctrl-C reaching each rank exactly once; a real
// process group from the launcher's environment (and from torchrun's, when torchrun is found).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';
import * as tg from '../lib';
import { childCommand, launchHelp, launchFlags } from '../lib/cli/launch';
import { usage } from '../lib/cli/main';

const root = path.join(__dirname, '..');
const script = path.join(__dirname, 'helpers', 'rank-child.js');
const distScript = path.join(__dirname, 'helpers', 'rank-dist.ts');
const MAIN = `require(${JSON.stringify(path.join(root, 'lib/cli/main.ts'))}).main(process.argv.slice(1)) || process.exit(2)`;
// launch.ts alone (it loads neither libtorch nor the other commands): quick to start, for the many runs here
const LAUNCH = `require(${JSON.stringify(path.join(root, 'lib/cli/launch.ts'))}).launchCommand(process.argv.slice(1))`;

interface Out { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** Runs `torch-gan launch <args>` from source in its own process group (as a terminal would); `act` gets its pid and output so far. */
function cli(args: string[], act?: (pid: number, stdout: () => string) => void, env: NodeJS.ProcessEnv = {}): Promise<Out> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const clean = { ...process.env };
    for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'TORCH_GAN_NUM_THREADS', 'OMP_NUM_THREADS']) delete clean[k];
    const p = spawn(process.execPath, ['--import', 'tsx', '-e', LAUNCH, '--', ...args], { cwd: root, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    const killer = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 60_000);
    act?.(p.pid!, () => stdout);
    p.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const waitFor = async (pred: () => boolean, ms = 20_000) => {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('2 ranks: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT set; every line prefixed with its rank', async () => {
  const r = await cli(['--nproc', '2', '--master-port', '29517', '--', script, 'env']);
  assert.is(r.code, 0, r.stderr);
  for (const rank of [0, 1]) {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`[rank ${rank}] ENV `));
    assert.ok(line, r.stdout);
    const env = JSON.parse(line!.slice(`[rank ${rank}] ENV `.length));
    assert.equal(env, { RANK: String(rank), WORLD_SIZE: '2', LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29517', TORCH_GAN_NUM_THREADS: env.TORCH_GAN_NUM_THREADS });
    assert.ok(Number(env.TORCH_GAN_NUM_THREADS) >= 1, 'the cores are divided among the ranks');
    assert.match(r.stdout, new RegExp(`^\\[rank ${rank}\\] two\\n\\[rank ${rank}\\] lines$`, 'm'));
    assert.match(r.stdout, new RegExp(`^\\[rank ${rank}\\] no newline at the end$`, 'm'));
    assert.match(r.stderr, new RegExp(`^\\[rank ${rank}\\] to stderr from ${rank}$`, 'm'));
  }
  for (const l of r.stdout.split('\n').filter(Boolean)) assert.match(l, /^\[rank [01]\] /);
  // --output rank0: only rank 0's stdout, every rank's stderr; a free port by default
  const q = await cli(['--nproc', '2', '--output', 'rank0', '--', script, 'env']);
  assert.is(q.code, 0, q.stderr);
  assert.not.match(q.stdout, /\[rank 1\]/);
  assert.match(q.stdout, /\[rank 0\] ENV /);
  assert.match(q.stderr, /\[rank 1\] to stderr from 1/);
  const port = Number(JSON.parse(q.stdout.split('\n').find((l) => l.startsWith('[rank 0] ENV '))!.slice(13)).MASTER_PORT);
  assert.ok(port > 0 && port !== 29517, `a free port: ${port}`);
});

test('a rank exiting non-zero stops the others; the launcher exits with its code and names it', async () => {
  const r = await cli(['--nproc', '3', '--', script, 'fail']);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /torch-gan launch: rank 1 exited with code 3; stopping the other 2 rank\(s\)/);
  assert.match(r.stderr, /exiting with code 3 \(rank 1 failed; every rank: 0 0, 1 3, 2 0\)/);
  assert.match(r.stdout, /\[rank 0\] rank 0 got SIGTERM/);
  assert.match(r.stdout, /\[rank 2\] rank 2 got SIGTERM/);
  assert.match(r.stderr, /\[rank 1\] rank 1 fails now/);
  // a rank that ignores SIGTERM is killed after --kill-grace
  const s = await cli(['--nproc', '2', '--kill-grace', '1', '--', script, 'stubborn']);
  assert.is(s.code, 5, s.stderr);
  assert.match(s.stdout, /\[rank 0\] ignoring SIGTERM/);
  assert.match(s.stderr, /1 rank\(s\) still running 1 s after SIGTERM: SIGKILL/);
  assert.match(s.stderr, /every rank: 0 SIGKILL, 1 5/);
  assert.ok(s.ms < 15_000, `took ${s.ms} ms`);
});

test("a terminal's Ctrl-C (SIGINT to the launcher's process group) reaches every rank exactly once", async () => {
  const r = await cli(['--nproc', '2', '--', script, 'signal'], (pid, out) => {
    void waitFor(() => (out().match(/ready/g) ?? []).length === 2).then(() => process.kill(-pid, 'SIGINT'));
  });
  assert.match(r.stdout, /\[rank 0\] got SIGINT x1/);
  assert.match(r.stdout, /\[rank 1\] got SIGINT x1/);
  assert.match(r.stderr, /SIGINT: forwarding it to the 2 running rank\(s\)/);
  assert.is(r.code, 130, 'the launcher exits as interrupted');
});

test('launch: usage errors, --help in the style of the other commands, the command table', () => {
  const run = (args: string[], entry = LAUNCH) => spawnSync(process.execPath, ['--import', 'tsx', '-e', entry, ...(entry === LAUNCH ? ['--'] : []), ...args], { cwd: root, encoding: 'utf8' });
  const noDash = run(['--nproc', '2', 'train']);
  assert.is(noDash.status, 2);
  assert.match(noDash.stderr, /unexpected argument 'train'/);
  const noCmd = run(['--nproc', '2', '--']);
  assert.is(noCmd.status, 2);
  assert.match(noCmd.stderr, /launch needs a command after --/);
  const noN = run(['--', 'train']);
  assert.is(noN.status, 2);
  assert.match(noN.stderr, /--nproc is required/);
  const help = run(['launch', '--help'], MAIN);  // through the command table
  assert.is(help.status, 0);
  assert.match(help.stdout, /Usage: npx torch-gan launch --nproc N/);
  assert.is(help.stdout.trim(), launchHelp());
  for (const line of launchHelp().split('\n')) assert.ok(line.length <= 80, `longer than 80 columns: '${line}'`);
  for (const flag of Object.keys(launchFlags)) assert.match(launchHelp(), new RegExp(`^  --${flag}`, 'm'));
  assert.match(usage(), /^ {2}launch +start N ranks/m);
  // what each kind of command becomes
  assert.equal(childCommand(['x.js', 'a']), { file: process.execPath, args: ['x.js', 'a'] });
  assert.equal(childCommand(['x.ts']), { file: process.execPath, args: ['--import', 'tsx', 'x.ts'] });
  assert.equal(childCommand(['python3', '-c', 'pass']), { file: 'python3', args: ['-c', 'pass'] });
  assert.equal(childCommand(['train', '--dset', 'toy']).args.slice(-3), ['train', '--dset', 'toy']);
  assert.throws(() => childCommand(['launch']), /does not start launchers/);
});

const gloo = tg.distributed.distributedAvailability().gloo;
(gloo ? test : test.skip)("a process group from the launcher's environment alone", async () => {
  const r = await cli(['--nproc', '2', '--', distScript]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[rank 0\] DIST rank 0 of 2 localRank 0 sum 3 \(libtorch /m);
  assert.match(r.stdout, /^\[rank 1\] DIST rank 1 of 2 localRank 1 sum 3 \(libtorch /m);
});

// torchrun (PyTorch's launcher) starting node: TORCHRUN names it, else `torchrun` on the PATH, if
// it runs at all (Debian's 1.13 torchrun fails on Python 3.11 before starting anything). Its agent
// serves the store; a PyTorch 2.x agent cannot be joined by a libtorch 1.x addon: refused clearly.
const torchrun = process.env.TORCHRUN ?? 'torchrun';
const torchrunWorks = spawnSync(torchrun, ['--standalone', '--nproc_per_node', '1', '--no_python', 'true'], { encoding: 'utf8', timeout: 60_000 }).status === 0;
((gloo && torchrunWorks) ? test : test.skip)('torchrun --no_python node ...: torch-gan joins its agent store from the environment', () => {
  const t0 = Date.now();
  const r = spawnSync(torchrun, ['--standalone', '--nproc_per_node', '2', '--no_python', process.execPath, '--import', 'tsx', distScript],
    { cwd: root, encoding: 'utf8', timeout: 90_000, env: { ...process.env, TORCH_GAN_NUM_THREADS: '1' } });
  const refused = /DIST error ERR_TORCH_DISTRIBUTED_UNAVAILABLE .*started by a PyTorch 2\.x torchrun/.test(r.stdout);
  console.log(`  ${torchrun}: ${refused ? 'refused (a 2.x torchrun, a 1.x addon)' : `exit ${r.status}`} after ${Date.now() - t0} ms`);
  if (refused) {
    assert.match(tg.diagnostics().libtorch.version, /^1\./, 'only a 1.x addon refuses');
    return;
  }
  assert.is(r.status, 0, r.stdout + r.stderr.slice(-2000));
  assert.match(r.stdout, /DIST rank 0 of 2 localRank 0 sum 3/);
  assert.match(r.stdout, /DIST rank 1 of 2 localRank 1 sum 3/);
});
if (!torchrunWorks) console.log(`torchrun test skipped: ${torchrun} is not found or does not run (set TORCHRUN)`);

test.run();
