// Data-parallel overhead of the engine on this machine: the default Fashion-MNIST WGAN-GP recipe
// (global batch 64) trained by one `torch-gan train` process and by `torch-gan launch --nproc 2`
// (2 x 32), the same number of iterations, one thread per process (and one process on 2 threads,
// the same cores as the two processes); prints the runs' it/s and
// rank 0's communication line (time in Gloo all-reduces per iteration, waiting included, and the
// MiB reduced). A 2-core machine cannot speed up with 2 processes: this measures the cost.
//   npx tsx bench/data-parallel.ts [--iters 40]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const iters = arg('iters', '40');
const MAIN = `require(${JSON.stringify(path.join(root, 'lib/cli/main.ts'))}).main(process.argv.slice(1)) || process.exit(2)`;
const LAUNCH = `require(${JSON.stringify(path.join(root, 'lib/cli/launch.ts'))}).launchCommand(process.argv.slice(1))`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-dp-'));
const flags = (out: string, threads = 1) => ['train', '--dset', 'fashion', '--iters', iters, '--out', out, '--threads', String(threads), '--sample-every', '100000', '--checkpoint-every', '100000'];
const env = { ...process.env, TORCH_GAN_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

function run(label: string, args: string[]): { label: string; itps: number; comm: string } {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${label} failed:\n${r.stderr}`);
  const done = r.stdout.match(/done: \d+ iterations in [\d.]+ s \(([\d.]+) it\/s\)/);
  const comm = r.stdout.match(/communication \(rank 0\): (.*)/);
  return { label, itps: done ? Number(done[1]) : NaN, comm: comm ? comm[1] : '-' };
}

const one = run('1 process x batch 64', ['--import', 'tsx', '-e', MAIN, '--', ...flags(path.join(tmp, 'one'))]);
const oneTwo = run('1 process x batch 64, 2 threads', ['--import', 'tsx', '-e', MAIN, '--', ...flags(path.join(tmp, 'one-2t'), 2)]);
const two = run('2 processes x batch 32', ['--import', 'tsx', '-e', LAUNCH, '--', '--nproc', '2', '--output', 'rank0', '--', ...flags(path.join(tmp, 'two'))]);
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`Fashion-MNIST WGAN-GP (default recipe, global batch 64), ${iters} iterations, 1 thread per process unless said`);
console.log('| run | it/s | ms/iteration | ratio | rank 0 communication |');
console.log('| --- | ---: | ---: | ---: | --- |');
for (const r of [one, oneTwo, two]) console.log(`| ${r.label} | ${r.itps.toFixed(2)} | ${(1000 / r.itps).toFixed(0)} | ${(one.itps / r.itps).toFixed(2)} | ${r.comm} |`);
