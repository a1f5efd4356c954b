// All-reduce cost between 2 local processes (Gloo over loopback TCP, libtorch's c10d): for a
// few float32 sizes, the median time of one in-place sum all-reduce and its cost per MB.
//   npx tsx bench/allreduce.ts [--reps N] [--sizes 0.25,1,4,16]   (sizes in MiB)
// The parent spawns rank 0 and rank 1 of itself on 127.0.0.1 and a free port, and prints rank 0's table.
import { spawn } from 'child_process';
import * as net from 'net';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};

async function rank(): Promise<void> {
  const tg = await import('../lib');
  const d = tg.distributed;
  const g = d.initProcessGroup({ timeoutMs: 60_000 });
  const reps = Number(arg('reps', '10'));
  const sizes = arg('sizes', '0.25,1,4,16').split(',').map(Number);
  const rows: string[] = [];
  for (const mb of sizes) {
    const t = tg.ones([Math.round((mb * 1024 * 1024) / 4)]);
    d.allReduce(t);  // warm-up (connections, buffers)
    const ms: number[] = [];
    for (let i = 0; i < reps; i++) {
      d.barrier();
      const t0 = performance.now();
      d.allReduce(t);
      ms.push(performance.now() - t0);
    }
    t.dispose();
    ms.sort((a, b) => a - b);
    const med = ms[Math.floor(ms.length / 2)];
    rows.push(`| ${mb.toString().padStart(6)} | ${med.toFixed(2).padStart(9)} | ${ms[0].toFixed(2).padStart(8)} | ${(med / mb).toFixed(2).padStart(9)} | ${(mb / (med / 1000)).toFixed(0).padStart(10)} |`);
  }
  if (g.rank === 0) {
    const lib = tg.diagnostics();
    console.log(`all-reduce (sum, float32), 2 processes on 127.0.0.1, Gloo, libtorch ${lib.libtorch.version}, ${reps} reps, median`);
    console.log('|    MiB | median ms |   min ms | ms per MB | MiB/s (size / time) |');
    console.log('|-------:|----------:|---------:|----------:|----------:|');
    for (const r of rows) console.log(r);
  }
  d.destroyProcessGroup();
}

async function parent(): Promise<void> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const env = { ...process.env, WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), TORCH_GAN_NUM_THREADS: process.env.TORCH_GAN_NUM_THREADS ?? '1' };
  const codes = await Promise.all([0, 1].map((r) => new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', __filename, ...process.argv.slice(2)], { env: { ...env, RANK: String(r), ALLREDUCE_BENCH_RANK: '1' }, stdio: ['ignore', r === 0 ? 'inherit' : 'ignore', 'inherit'] });
    p.on('close', resolve);
  })));
  if (codes.some((c) => c !== 0)) process.exitCode = 1;
}

(process.env.ALLREDUCE_BENCH_RANK ? rank() : parent()).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
