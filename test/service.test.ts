// examples/service.ts end to end: real HTTP requests on 127.0.0.1 (random port) while it
// trains in its worker; POST /stop ends training with a checkpoint; SIGTERM exits cleanly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { latestCheckpoint } from '../lib/gan/checkpoint';
import { decodePng } from '../lib/io/png';
import { TrainingWorker } from '../lib/gan';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-service-'));
const out = path.join(tmp, 'run');
const config = { limit: 256, batchSize: 16, baseWidth: 8, noiseDim: 16, seed: 3, checkpointEvery: 2, sampleEvery: 1000 };

interface Res {
  status: number;
  type: string;
  body: Buffer;
}
/** One request on 127.0.0.1, bounded in time. */
function request(url: string, method = 'GET', timeoutMs = 20_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
const json = (r: Res) => JSON.parse(r.body.toString('utf8'));

let child: ChildProcess;
let url = '';
let stdout = '';
let stderr = '';

test.before(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'examples/service.ts', '--port', '0', '--out', out, '--iters', '1000', '--config', JSON.stringify(config)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d) => (stderr += d));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service printed no URL in 30 s: ${stdout} ${stderr}`)), 30_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`the service exited (${code}): ${stderr}`)));
  });
});

test('GET /status answers while training, with step, losses and it/s', async () => {
  const first = json(await request(`${url}/status`));
  assert.is(first.state, 'running');
  assert.is(first.loss, 'wgan-gp');
  assert.is(first.iters, 1000);
  // poll (bounded: the first step of a fresh process is slow) until two steps are done
  let s = first;
  for (let i = 0; i < 400 && s.step < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = json(await request(`${url}/status`));
  }
  assert.ok(s.step >= 2, `step ${s.step}`);
  assert.ok(Number.isFinite(s.losses.critic) && Number.isFinite(s.losses.generator));
  assert.ok(s.itPerSec > 0);
  assert.is(s.state, 'running');
});

test('40 concurrent GET /status (8 at a time) all answer quickly during training', async () => {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 40) {
        next++;
        const t = performance.now();
        const r = await request(`${url}/status`, 'GET', 5000);
        times.push(performance.now() - t);
        assert.is(r.status, 200);
        assert.is(json(r).state, 'running');
      }
    }),
  );
  times.sort((a, b) => a - b);
  assert.is(times.length, 40);
  assert.ok(times[times.length - 1] < 1000, `slowest ${times[times.length - 1].toFixed(0)} ms`);
});

test('GET /samples.png is a valid PNG grid, from the trainer and from the latest checkpoint', async () => {
  const r = await request(`${url}/samples.png?n=16&seed=4`);
  assert.is(r.status, 200);
  assert.is(r.type, 'image/png');
  const img = decodePng(r.body);
  assert.equal([img.width, img.height], [4 * 28 + 5 * 2, 4 * 28 + 5 * 2]);
  const full = decodePng((await request(`${url}/samples.png`)).body);
  assert.equal([full.width, full.height], [8 * 28 + 9 * 2, 8 * 28 + 9 * 2], 'default: 64 in an 8×8 grid');
  // a checkpoint exists after 2 steps (checkpointEvery 2)
  let s = json(await request(`${url}/status`));
  for (let i = 0; i < 100 && !s.lastCheckpoint; i++) {
    await new Promise((res) => setTimeout(res, 100));
    s = json(await request(`${url}/status`));
  }
  const c = await request(`${url}/samples.png?n=4&source=checkpoint`);
  assert.is(c.status, 200, c.body.toString());
  decodePng(c.body);
  const bad = await request(`${url}/samples.png?n=100000`);
  assert.is(bad.status, 400);
  assert.match(json(bad).error, /\?n expects an integer/);
  assert.is((await request(`${url}/nope`)).status, 404);
  assert.is((await request(`${url}/stop`)).status, 405);
});

test('GET / is the self-contained live page; GET /events replays the history, then each step once, none lost', async () => {
  const page = await request(`${url}/`);
  assert.is(page.status, 200);
  assert.is(page.type, 'text/html; charset=utf-8');
  const html = page.body.toString('utf8');
  assert.match(html, /new EventSource\('events'\)/);
  assert.not.match(html, /(src|href)="(https?:)?\/\//, 'no external asset');
  const h = json(await request(`${url}/history`));
  assert.is(h.status.state, 'running');
  const steps: number[] = h.points.map((p: { step: number }) => p.step);
  assert.equal(steps, Array.from({ length: steps.length }, (_, i) => i + 1), 'every step since the start');
  assert.is(h.sample, null, 'sampleEvery 1000: no grid yet');
  assert.is((await request(`${url}/latest.png`)).status, 404);
  // the stream: history first, then live steps continuing exactly where it ends
  const seen = await new Promise<{ event: string; data: { step?: number; points?: { step: number }[] } }[]>((resolve, reject) => {
    const got: { event: string; data: { step?: number; points?: { step: number }[] } }[] = [];
    const req = http.get(`${url}/events`, { agent: false }, (res) => {
      assert.is(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      let buf = '';
      res.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) {
          const m = /^event: (\w+)\ndata: (.*)$/m.exec(buf.slice(0, i));
          if (m) got.push({ event: m[1], data: JSON.parse(m[2]) });
        }
        if (got.filter((e) => e.event === 'step').length >= 2) {
          req.destroy();
          resolve(got);
        }
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET /events: ${got.length} events in 30 s`)));
    req.on('error', reject);
  });
  assert.is(seen[0].event, 'history');
  const replayed = seen[0].data.points!.map((p) => p.step);
  const live = seen.filter((e) => e.event === 'step').map((e) => e.data.step!);
  assert.equal(live.slice(0, 2), [replayed[replayed.length - 1] + 1, replayed[replayed.length - 1] + 2]);
});

test('POST /stop ends training between two steps with a checkpoint; the service keeps serving', async () => {
  const r = await request(`${url}/stop`, 'POST');
  assert.is(r.status, 200);
  const body = json(r);
  assert.is(body.stopped, true);
  assert.is(body.reason, 'aborted');
  assert.is(body.checkpoint.step, body.step);
  const { state } = latestCheckpoint(path.join(out, 'checkpoints'));
  assert.is(state.step, body.step);
  const s = json(await request(`${url}/status`));
  assert.is(s.state, 'idle');
  assert.is(s.step, body.step);
  await new Promise((res) => setTimeout(res, 300));
  assert.is(json(await request(`${url}/status`)).step, body.step, 'no step after the stop');
  assert.is((await request(`${url}/samples.png?n=4`)).status, 200);
  assert.is(json(await request(`${url}/stop`, 'POST')).step, body.step, 'stopping twice is harmless');
});

test('a second run on the same out is refused while the service holds it (lib/gan/run-lock.ts)', async () => {
  let err: (Error & { code?: string }) | undefined;
  try {
    const w = await TrainingWorker.start(config, { out });
    await w.close();
  } catch (e) {
    err = e as Error & { code?: string };
  }
  assert.ok(err, 'a second TrainingWorker on the same out started');
  assert.is(err!.code, 'ERR_RUN_LOCKED', String(err));
  assert.match(err!.message, new RegExp(`in use by another run \\(process ${child.pid}`));
});

test('SIGTERM stops the service cleanly', async () => {
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 20_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
    child.kill('SIGTERM');
  });
  assert.is(code, 0, stderr);
  assert.ok(!fs.existsSync(path.join(out, '.torch-gan.lock')), 'the lock is released at exit');
  assert.not.match(stderr, /terminate called/);
  assert.match(stdout, /training aborted at step \d+/);
});

test('a second SIGTERM while training stops does not kill the service before its final checkpoint', async () => {
  const out2 = path.join(tmp, 'twice');
  const c = spawn(process.execPath, ['--import', 'tsx', 'examples/service.ts', '--port', '0', '--out', out2, '--iters', '1000', '--config', JSON.stringify({ ...config, checkpointEvery: 1000 })], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let so = '';
  let se = '';
  c.stderr!.on('data', (d) => (se += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      resolve(-1);
    }, 60_000);
    c.stdout!.on('data', (d) => {
      const before = so;
      so += d;
      // training is running once a step is logged: stop it; the moment the stop is announced, signal again
      if (!/step \d+\//.test(before) && /step \d+\//.test(so)) c.kill('SIGTERM');
      if (!/SIGTERM: stopping/.test(before) && /SIGTERM: stopping/.test(so)) c.kill('SIGTERM');
    });
    c.once('exit', (x) => {
      clearTimeout(timer);
      resolve(x);
    });
  });
  assert.is(code, 0, `exit ${code}; ${so} ${se}`);
  assert.match(so, /SIGTERM: already stopping/);
  const latest = JSON.parse(fs.readFileSync(path.join(out2, 'checkpoints', 'latest.json'), 'utf8'));
  const names = fs.readdirSync(path.join(out2, 'checkpoints'));
  const folders = names.filter((n) => /^ckpt-\d{8}$/.test(n)).sort();
  assert.is(latest.checkpoint, folders[folders.length - 1], 'latest.json names the newest complete checkpoint');
  assert.equal(names.filter((n) => n.includes('.tmp')), [], 'no temporaries left');
});

test.after(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});
test.run();
