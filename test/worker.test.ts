// TrainingWorker / GeneratorSampler: training in a worker thread gives the numbers of
// the synchronous loop, stops cleanly between steps on abort with a loadable checkpoint,
// leaves the main event loop free, and two workers in one process do not disturb each other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TrainingWorker, GeneratorSampler, openRun, RunSpec, StepStats, RunEvent } from '../lib/gan';
import { latestCheckpoint, loadCheckpoint } from '../lib/gan/checkpoint';
import { buildModels, RunConfig } from '../lib/gan/run';
import { decodePng } from '../lib/io/png';
import { TorchError } from '../lib/errors';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-worker-'));
// Small and fast: 256 real digits, a narrow network, batch 16 (wgan-gp: 5 critic updates a step).
const spec: RunSpec = { limit: 256, batchSize: 16, baseWidth: 8, noiseDim: 16, seed: 3 };
const specB: RunSpec = { ...spec, loss: 'dragan', seed: 5 };

/** n steps of the synchronous loop in this thread (the reference numbers). */
async function syncSteps(s: RunSpec, n: number): Promise<{ stats: StepStats[]; ms: number[] }> {
  const run = await openRun(s);
  const stats: StepStats[] = [];
  const ms: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      stats.push(run.trainStep());
      ms.push(performance.now() - t);
    }
  } finally {
    run.dispose();
  }
  return { stats, ms };
}

let ref: StepStats[] = [];
let refB: StepStats[] = [];

test.before(async () => {
  ref = (await syncSteps(spec, 3)).stats;
  refB = (await syncSteps(specB, 2)).stats;
});

test('stepAsync() gives exactly the numbers of the synchronous loop (same seed and config)', async () => {
  const w = await TrainingWorker.start(spec);
  try {
    assert.is(w.config.loss, 'wgan-gp');
    assert.is(w.status().step, 0);
    const got = [await w.stepAsync(), await w.stepAsync(), await w.stepAsync()];
    assert.equal(got, ref);
    const s = w.status();
    assert.is(s.step, 3);
    assert.is(s.state, 'idle');
    assert.is(s.losses!.critic, ref[2].criticLoss);
    assert.ok(s.itPerSec > 0);
    // sampling does not touch the training RNG: the next step is still the lone run's
    const png = await w.sampleAsync(16, { seed: 1 });
    const img = decodePng(png);
    assert.equal([img.width, img.height], [4 * 28 + 5 * 2, 4 * 28 + 5 * 2]);
    const same = await w.sampleAsync(16, { seed: 1 });
    assert.ok(png.equals(same), 'same seed, same generator: same PNG');
    const t = await w.sampleAsync(4, { seed: 1, format: 'tensor-data' });
    assert.equal(t.shape, [4, 1, 28, 28]);
    assert.ok(t.data instanceof Float32Array && t.data.length === 4 * 28 * 28);
    assert.ok(t.data.every((v) => v >= -1 && v <= 1), 'tanh output');
  } finally {
    await w.close();
  }
  assert.is(w.status().state, 'closed');
  await w.stepAsync().then(
    () => assert.unreachable('closed'),
    (e) => assert.is(e.code, 'ERR_WORKER_CLOSED'),
  );
});

test('errors inside the worker come back as TorchError rejections with the message, code and fields', async () => {
  await TrainingWorker.start({ ...spec, batchSize: 100000 }).then(
    () => assert.unreachable('bad config'),
    (e) => {
      assert.instance(e, TorchError);
      assert.is(e.code, 'ERR_RUN_CONFIG');
      assert.is(e.parameter, 'batchSize');
      assert.match(e.message, /batchSize must be at most 4096, received 100000/);
    },
  );
  await TrainingWorker.start({ ...spec, criticNorm: 'batch' }).then(
    () => assert.unreachable('batch norm with a penalty'),
    (e) => assert.match(e.message, /criticNorm batch is refused with loss wgan-gp/),
  );
  const w = await TrainingWorker.start(spec);
  try {
    await w.checkpointAsync().then(
      () => assert.unreachable('no out'),
      (e) => assert.is(e.code, 'ERR_NO_OUT'),
    );
    await w.sampleAsync(0).then(
      () => assert.unreachable('n = 0'),
      (e) => {
        assert.instance(e, TorchError);
        assert.is(e.code, 'ERR_INVALID_ARG');
        assert.match(e.message, /n/);
      },
    );
    const events = w.run({ iters: 1, sampleEvery: 0 });
    await w.stepAsync().then(
      () => assert.unreachable('busy'),
      (e) => assert.is(e.code, 'ERR_BUSY'),
    );
    const end = await events.finished;
    assert.is(end.reason, 'done');
    assert.is(end.step, 1);
  } finally {
    await w.close();
  }
});

test('abort stops between two steps (within one step) and leaves a loadable, resumable checkpoint', async () => {
  const out = path.join(tmp, 'abort');
  const w = await TrainingWorker.start(spec, { out });
  const ac = new AbortController();
  const seen: RunEvent[] = [];
  let abortedAt = -1;
  try {
    for await (const ev of w.run({ iters: 100, signal: ac.signal, checkpointEvery: 0, sampleEvery: 1 })) {
      seen.push(ev);
      if (ev.type === 'step' && abortedAt < 0) {
        abortedAt = ev.step;
        ac.abort();
      }
    }
    const end = seen[seen.length - 1];
    assert.is(end.type, 'end');
    if (end.type !== 'end') return;
    assert.is(end.reason, 'aborted');
    assert.ok(end.step >= abortedAt && end.step <= abortedAt + 1, `stopped at ${end.step}, aborted after step ${abortedAt}`);
    const steps = seen.filter((e) => e.type === 'step').map((e) => (e as { stats: StepStats }).stats);
    assert.equal(steps, ref.slice(0, steps.length), 'run() steps are the lone run\'s');
    const ck = seen.filter((e) => e.type === 'checkpoint');
    assert.is(ck.length, 1, 'one checkpoint, where it stopped');
    const samples = seen.filter((e) => e.type === 'sample') as Extract<RunEvent, { type: 'sample' }>[];
    assert.is(samples.length, end.step);
    assert.ok(fs.existsSync(path.join(out, 'latest.png')));
    decodePng(samples[0].png);

    // complete and loadable: state, generator, critic, optimizers
    const { state, dir } = latestCheckpoint(path.join(out, 'checkpoints'));
    assert.is(state.step, end.step);
    assert.equal(w.status().lastCheckpoint, { step: end.step, dir });
    assert.equal(fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => f.startsWith('.')), [], 'no temporary folder left');
    const m = buildModels(state.config as unknown as RunConfig);
    loadCheckpoint(path.join(out, 'checkpoints'), { generator: m.generator, critic: m.critic }, { restoreRng: false });
    m.generator.dispose();
    m.critic.dispose();

    // a GeneratorSampler on the checkpoint draws what the trainer draws at that step
    const sampler = await GeneratorSampler.load(path.join(out, 'checkpoints'));
    try {
      assert.is(sampler.step, end.step);
      const [a, b] = await Promise.all([sampler.sampleAsync(16, { seed: 7 }), w.sampleAsync(16, { seed: 7 })]);
      assert.ok(a.equals(b), 'same weights, same seed: same PNG');
    } finally {
      await sampler.close();
    }
  } finally {
    await w.close();
  }
  // resume continues exactly: the next step is step end+1 of the lone run
  const r = await TrainingWorker.start(spec, { out, resume: true });
  try {
    const k = r.status().step;
    assert.is(r.info.resumedFrom?.step, k);
    assert.equal(await r.stepAsync(), ref[k]);
  } finally {
    await r.close();
  }
});

// Behaviour, not timing: while the worker computes a step the main thread's event loop turns
// (a setImmediate queued after the call runs before the step's answer arrives). A step done on
// the main thread would answer first: its promise settles before the loop can turn.
test('the main event loop stays free: it turns while each step is computed in the worker', async () => {
  const w = await TrainingWorker.start(spec);
  const turnedBefore = async (work: Promise<unknown>): Promise<string[]> => {
    const order: string[] = [];
    const done = work.then(() => order.push('answer'));
    await new Promise<void>((r) => setImmediate(() => (order.push('loop turned'), r())));
    await done;
    return order;
  };
  try {
    await w.stepAsync(); // warm
    for (let i = 0; i < 3; i++) assert.equal(await turnedBefore(w.stepAsync()), ['loop turned', 'answer'], `stepAsync() ${i}`);
    const events = w.run({ iters: 3, sampleEvery: 0 });
    assert.equal(await turnedBefore(events.next()), ['loop turned', 'answer'], 'run(): the first step event');
    while (!(await events.next()).done) { /* the rest of the run */ }
  } finally {
    await w.close();
  }
});

test('two workers training at once give the numbers each gives alone', async () => {
  const [a, b] = await Promise.all([TrainingWorker.start(spec), TrainingWorker.start(specB)]);
  try {
    const ra: StepStats[] = [];
    const rb: StepStats[] = [];
    await Promise.all([
      (async () => {
        for await (const ev of a.run({ iters: 3, sampleEvery: 0 })) if (ev.type === 'step') ra.push(ev.stats);
      })(),
      (async () => {
        for (let i = 0; i < 2; i++) rb.push(await b.stepAsync());
      })(),
    ]);
    assert.equal(ra, ref);
    assert.equal(rb, refB);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('closing a worker mid-run frees it; process.exit() while a worker trains exits cleanly', async () => {
  const w = await TrainingWorker.start(spec);
  const events = w.run({ iters: 100, sampleEvery: 0 });
  let n = 0;
  for await (const ev of events) {
    if (ev.type === 'step' && ++n === 1) void w.close();
    if (ev.type === 'end') assert.is(ev.reason, 'closed');
  }
  await w.close();
  assert.is(w.status().state, 'closed');
  // the process exits while the worker is inside a training step: no abort at teardown
  const script = `
    const { TrainingWorker } = require(${JSON.stringify(path.join(root, 'lib/gan/worker.ts'))});
    (async () => {
      const w = await TrainingWorker.start(${JSON.stringify(spec)});
      for await (const ev of w.run({ iters: 100, sampleEvery: 0 })) if (ev.type === 'step') setTimeout(() => process.exit(7), 20);
    })();
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.not.match(r.stderr, /terminate called/);
  assert.is(r.status, 7, r.stderr);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
