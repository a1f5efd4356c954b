// examples/service-live.ts (GET /events of examples/service.ts) over a real HTTP server, no
// training: the history replayed first, every event to every client in order, keep-alive
// comments, clients removed when they go away, and the history's thinning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { LiveFeed, thin, StepPoint } from '../examples/service-live';

interface Sse {
  events: { event: string; data: unknown }[];
  comments: number;
  req: http.ClientRequest;
}

/** A minimal server-sent-events reader (what a browser's EventSource does with the stream). */
function connect(url: string): Promise<Sse> {
  return new Promise((resolve, reject) => {
    const sse: Sse = { events: [], comments: 0, req: null as unknown as http.ClientRequest };
    sse.req = http.get(url, { agent: false }, (res) => {
      assert.is(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith(':')) sse.comments++;
          const ev = /^event: (.*)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (ev && data) sse.events.push({ event: ev[1], data: JSON.parse(data[1]) });
        }
      });
      resolve(sse);
    });
    sse.req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
  });
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const t = Date.now();
  while (!ok()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const point = (step: number): StepPoint => ({ step, criticLoss: -step, generatorLoss: step / 2, wassersteinEstimate: step * 2, itPerSec: 10 });

test('history first, then every event to every client in order; keep-alives; clients removed on close', async () => {
  const live = new LiveFeed(() => ({ state: 'running', iters: 10 }), { keepAliveMs: 50 });
  const server = http.createServer((req, res) => live.attach(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    live.step(point(1));
    live.step(point(2));
    live.sampled(2);
    const clients = await Promise.all([connect(url), connect(url), connect(url)]);
    await until('3 clients', () => live.clientCount === 3 && clients.every((c) => c.events.length === 1));
    for (const c of clients) {
      const h = c.events[0];
      assert.is(h.event, 'history');
      assert.equal(h.data, { status: { state: 'running', iters: 10 }, points: [point(1), point(2)], sample: { step: 2 }, checkpoint: null, end: null });
    }
    live.step(point(3));
    live.checkpointed({ step: 3, dir: '/x/ckpt-00000003' });
    live.sampled(3);
    live.end({ step: 3, reason: 'aborted', checkpoint: { step: 3, dir: '/x/ckpt-00000003' } });
    await until('the events', () => clients.every((c) => c.events.length === 5));
    for (const c of clients) {
      assert.equal(c.events.slice(1).map((e) => e.event), ['step', 'checkpoint', 'sample', 'end']);
      assert.equal(c.events[1].data, point(3));
      assert.equal(c.events[4].data, { step: 3, reason: 'aborted', checkpoint: { step: 3, dir: '/x/ckpt-00000003' } });
    }
    await until('keep-alive comments', () => clients.every((c) => c.comments >= 2), 3000);
    // a client opened after the end gets the whole story in its history
    const late = await connect(url);
    await until('the late client', () => late.events.length === 1);
    const h = late.events[0].data as { points: StepPoint[]; end: unknown; checkpoint: unknown };
    assert.equal(h.points.map((p) => p.step), [1, 2, 3]);
    assert.equal(h.end, { step: 3, reason: 'aborted', checkpoint: { step: 3, dir: '/x/ckpt-00000003' } });
    assert.equal(h.checkpoint, { step: 3, dir: '/x/ckpt-00000003' });
    assert.is(live.clientCount, 4);
    clients[0].req.destroy();
    late.req.destroy();
    await until('2 clients left', () => live.clientCount === 2);
    live.step(point(4));
    await until('the next step', () => clients.slice(1).every((c) => c.events.length === 6));
    for (const c of clients.slice(1)) c.req.destroy();
    await until('no client left', () => live.clientCount === 0);
  } finally {
    live.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('a client that stops reading is dropped once its backlog passes maxBuffered; the others keep getting events', async () => {
  const live = new LiveFeed(() => ({}), { keepAliveMs: 60_000, maxBuffered: 256 * 1024 });
  const server = http.createServer((req, res) => live.attach(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const reader = await connect(url);
    const stalled = await new Promise<http.IncomingMessage>((resolve) => http.get(url, { agent: false }, (res) => (res.pause(), resolve(res))));
    await until('2 clients', () => live.clientCount === 2);
    // each step ~100 bytes: the socket buffers fill, then the server's backlog grows past 256 KiB (the reader, read at every yield, never nears it)
    for (let s = 1; live.clientCount === 2 && s < 1_000_000; s++) {
      live.step(point(s));
      if (s % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.is(live.clientCount, 1, 'the stalled client was dropped');
    const last = live.history().points.at(-1)!.step;
    await until('the reader to catch up', () => (reader.events.at(-1)?.data as StepPoint | undefined)?.step === last, 20_000);
    reader.req.destroy();
    stalled.destroy();
  } finally {
    live.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('thin: past 2·max points every other one goes, the first and the last stay', () => {
  const pts = Array.from({ length: 9 }, (_, i) => i + 1);
  assert.is(thin(pts, 5), pts, 'within 2·max: untouched');
  const ten = Array.from({ length: 11 }, (_, i) => i + 1);
  assert.equal(thin(ten, 5), [1, 3, 5, 7, 9, 11]);
  const even = Array.from({ length: 12 }, (_, i) => i + 1);
  assert.equal(thin(even, 5), [1, 3, 5, 7, 9, 11, 12]);
  // a long run stays bounded: 100,000 steps through a feed of max 100
  const live = new LiveFeed(() => ({}), { maxPoints: 100 });
  for (let s = 1; s <= 100_000; s++) live.step(point(s));
  const h = live.history().points;
  live.close();
  assert.ok(h.length > 100 && h.length <= 200, `${h.length} points`);
  assert.is(h[0].step, 1);
  assert.is(h[h.length - 1].step, 100_000);
  for (let i = 1; i < h.length; i++) assert.ok(h[i].step > h[i - 1].step, 'in step order');
  // the recent past is denser than the distant past
  assert.ok(h[h.length - 1].step - h[h.length - 2].step <= h[1].step - h[0].step);
});

test.run();
