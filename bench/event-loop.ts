// Event-loop delay and training throughput: GanTrainer's synchronous loop in the main
// thread versus a TrainingWorker, and the request latency of examples/service.ts under
// a bounded loopback load (a fixed number of GET /status, 127.0.0.1 only, bounded in time).
//
//   npx tsx bench/event-loop.ts                 # ~1 min
//   npx tsx bench/event-loop.ts --seconds 15 --blocks 3 --requests 200 --concurrency 8
//   npx tsx bench/event-loop.ts --config '{"baseWidth": 32, "batchSize": 64}' --threads 1
//
// Event-loop delay: perf_hooks.monitorEventLoopDelay (10 ms resolution), reported as the
// lateness of its timer (the histogram value minus the 10 ms period). Throughput: generator
// iterations per second after one warm-up step (same config, same seed); the sync loop and
// the worker run in alternating blocks (--blocks of --seconds/blocks each) so that both see
// the same background load.
// Goal: p99 delay < 20 ms while training at full speed, worker throughput within 5% of sync.
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { monitorEventLoopDelay, performance } from 'perf_hooks';
import type { AddressInfo } from 'net';
import { TrainingWorker, openRun, RunSpec } from '../lib/gan';
import { diagnostics } from '../lib/diagnostics';
import { setNumThreads } from '../lib/tensor';
import { startService } from '../examples/service';

function flags(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else m.set(a.slice(2), argv[++i] ?? '');
  }
  return m;
}
const f = flags(process.argv.slice(2));
const SECONDS = Number(f.get('seconds') ?? 15);
const BLOCKS = Number(f.get('blocks') ?? 3);
const REQUESTS = Number(f.get('requests') ?? 200);
const CONCURRENCY = Number(f.get('concurrency') ?? 8);
const RESOLUTION = 10;
const CONFIG: RunSpec = { limit: 1024, batchSize: 32, baseWidth: 16, noiseDim: 32, seed: 1, loss: 'wgan-gp', ...(f.has('config') ? JSON.parse(f.get('config')!) : {}) };

interface Delay {
  p50: number;
  p99: number;
  max: number;
}
/** Starts monitoring; stop() returns the timer lateness in ms. */
function monitor(): { stop(): Delay } {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION });
  h.enable();
  const late = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION);
  return {
    stop: () => {
      h.disable();
      return { p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max) };
    },
  };
}
const tick = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Row {
  name: string;
  delay: Delay;
  itPerSec?: number;
  steps?: number;
  latency?: { p50: number; p99: number; max: number; n: number; errors: number };
  note?: string;
}
const rows: Row[] = [];

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** GET url with a bound on time. */
function get(url: string, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** `total` GETs of url, `concurrency` at a time; latencies in ms. */
async function load(url: string, total: number, concurrency: number): Promise<{ ms: number[]; errors: number }> {
  const ms: number[] = [];
  let errors = 0;
  let issued = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < total) {
        issued++;
        const t = performance.now();
        try {
          const status = await get(url);
          if (status !== 200) errors++;
        } catch {
          errors++;
        }
        ms.push(performance.now() - t);
      }
    }),
  );
  return { ms, errors };
}
const latencyOf = (r: { ms: number[]; errors: number }) => ({ p50: quantile(r.ms, 0.5), p99: quantile(r.ms, 0.99), max: Math.max(...r.ms), n: r.ms.length, errors: r.errors });

/**
 * The event-loop delay of several windows: a fresh monitorEventLoopDelay per window (an
 * interval histogram cannot be merged); p50 is the median of the windows' p50, p99 and max
 * the largest of the windows' (conservative).
 */
function windowedMonitor() {
  const windows: Delay[] = [];
  let m: { stop(): Delay } | null = null;
  return {
    on: () => {
      m = monitor();
    },
    off: () => {
      windows.push(m!.stop());
      m = null;
    },
    result: (): Delay => ({ p50: quantile(windows.map((w) => w.p50), 0.5), p99: Math.max(...windows.map((w) => w.p99)), max: Math.max(...windows.map((w) => w.max)) }),
  };
}

/**
 * Phases 1 and 2, interleaved: blocks of the synchronous loop in this thread (yielding to the
 * event loop between steps, the best a main-thread loop can do; without yielding it blocks
 * throughout) alternate with blocks of a TrainingWorker's run() (this thread only reads its
 * events), so both see the same background load. Same config and seed; each warmed up first.
 */
async function syncVsWorker(): Promise<void> {
  const run = await openRun(CONFIG);
  const w = await TrainingWorker.start(CONFIG);
  try {
    run.trainStep(); // warm-up (first-call initialisation)
    await w.stepAsync();
    const mSync = windowedMonitor();
    const mWorker = windowedMonitor();
    const acc = { sync: { steps: 0, secs: 0 }, worker: { steps: 0, secs: 0 } };
    const blockMs = (SECONDS * 1000) / BLOCKS;
    for (let b = 0; b < 2 * BLOCKS; b++) {
      await sleep(30);
      if (b % 2 === 0) {
        mSync.on();
        await sleep(20);
        const t0 = performance.now();
        let steps = 0;
        while (performance.now() - t0 < blockMs) {
          run.trainStep();
          steps++;
          await tick();
        }
        acc.sync.steps += steps;
        acc.sync.secs += (performance.now() - t0) / 1000;
        await sleep(20);
        mSync.off();
      } else {
        mWorker.on();
        await sleep(20);
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), blockMs);
        const t0 = performance.now();
        let steps = 0;
        let last = t0;
        for await (const ev of w.run({ iters: 1_000_000, signal: ac.signal, sampleEvery: 0, checkpointEvery: 0 })) {
          if (ev.type !== 'step') continue;
          steps++;
          last = performance.now();
        }
        clearTimeout(timer);
        acc.worker.steps += steps;
        acc.worker.secs += (last - t0) / 1000;
        await sleep(20);
        mWorker.off();
      }
    }
    rows.push({ name: 'sync loop (main thread)', delay: mSync.result(), itPerSec: acc.sync.steps / acc.sync.secs, steps: acc.sync.steps });
    rows.push({ name: 'TrainingWorker.run()', delay: mWorker.result(), itPerSec: acc.worker.steps / acc.worker.secs, steps: acc.worker.steps });
  } finally {
    run.dispose();
    await w.close();
  }
}

/** Phase 3: examples/service.ts in this process, under a bounded GET /status load while it trains. */
async function servicePhase(): Promise<void> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-bench-'));
  const svc = await startService({ port: 0, out, config: { ...CONFIG, iters: 1_000_000, checkpointEvery: 1_000_000, sampleEvery: 1_000_000 }, log: () => {} });
  try {
    while (svc.trainer.status().step < 1) await sleep(20); // warm-up step done
    const m = monitor();
    const t0 = performance.now();
    const step0 = svc.trainer.status().step;
    const r = await load(`${svc.url}/status`, REQUESTS, CONCURRENCY);
    const png = await load(`${svc.url}/samples.png?n=16`, 10, 2);
    // keep training (and measuring) for the rest of the phase
    while (performance.now() - t0 < SECONDS * 1000) await sleep(100);
    const delay = m.stop();
    const steps = svc.trainer.status().step - step0;
    rows.push({ name: 'service: GET /status', delay, itPerSec: steps / ((performance.now() - t0) / 1000), steps, latency: latencyOf(r) });
    rows.push({ name: 'service: GET /samples.png?n=16', delay, latency: latencyOf(png), note: 'answered between two steps' });
  } finally {
    await svc.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Phase 4, for contrast: the same /status server with training in the main thread (sync loop, yielding). */
async function syncServicePhase(): Promise<void> {
  const run = await openRun(CONFIG);
  let step = 0;
  const server = http.createServer((_req, res) => {
    const body = JSON.stringify({ step });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
  let training = true;
  try {
    run.trainStep();
    const m = monitor();
    const t0 = performance.now();
    const loop = (async () => {
      while (training) {
        run.trainStep();
        step++;
        await tick();
      }
    })();
    const r = await load(url, REQUESTS, CONCURRENCY);
    while (performance.now() - t0 < Math.min(SECONDS, 5) * 1000) await sleep(100);
    training = false;
    await loop;
    rows.push({ name: 'contrast: /status, sync loop', delay: m.stop(), itPerSec: step / ((performance.now() - t0) / 1000), steps: step, latency: latencyOf(r) });
  } finally {
    training = false;
    server.close();
    run.dispose();
  }
}

function fmt(v: number | undefined, d = 1): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d);
}

async function main(): Promise<void> {
  if (f.has('threads')) setNumThreads(Number(f.get('threads'))); // process-wide: the workers use it too
  const d = diagnostics();
  console.log(`event-loop bench: ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism?.() ?? os.cpus().length}, node ${process.version}, libtorch ${d.libtorch.version}, ${d.threads.intraOp} intra-op threads, load average ${os.loadavg()[0].toFixed(2)}`);
  console.log(`config ${JSON.stringify(CONFIG)}; sync and worker: ${SECONDS} s each in ${BLOCKS} alternating blocks; service: ${REQUESTS} GET /status, ${CONCURRENCY} at a time\n`);
  const t = performance.now();
  await syncVsWorker();
  await servicePhase();
  await syncServicePhase();
  const head = ['', 'loop delay p50', 'p99', 'max (ms)', 'it/s', 'steps', 'request p50', 'p99', 'max (ms)', 'n/errors'];
  const table = rows.map((r) => [
    r.name,
    fmt(r.delay.p50),
    fmt(r.delay.p99),
    fmt(r.delay.max),
    fmt(r.itPerSec, 2),
    r.steps === undefined ? '' : String(r.steps),
    fmt(r.latency?.p50),
    fmt(r.latency?.p99),
    fmt(r.latency?.max),
    r.latency ? `${r.latency.n}/${r.latency.errors}` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of table) console.log(line(r));
  const sync = rows.find((r) => r.name.startsWith('sync loop'))!;
  const worker = rows.find((r) => r.name.startsWith('TrainingWorker'))!;
  const ratio = worker.itPerSec! / sync.itPerSec!;
  console.log(`\nworker vs sync throughput: ${(100 * ratio).toFixed(1)}% (goal ≥ 95%); worker p99 loop delay ${fmt(worker.delay.p99)} ms (goal < 20 ms)`);
  for (const r of rows) if (r.note) console.log(`  ${r.name}: ${r.note}`);
  console.log(`total ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
