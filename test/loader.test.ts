import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { TensorDataLoader } from '../lib/data/loader';
import type { ImageDataset } from '../lib/data/types';
import { testUnless } from './helpers/skip';

/** n samples of shape 1x2x2 whose 4 bytes all encode the sample index (i mod 256). */
function dataset(n: number, withLabels = true): ImageDataset {
  const images = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i & 255, 4 * i, 4 * i + 4);
  return { images, n, channels: 1, height: 2, width: 2, source: 'test', ...(withLabels ? { labels: Uint8Array.from({ length: n }, (_, i) => i % 10) } : {}) };
}

/** The sample indices of a batch (each sample's bytes encode its index; n <= 256). */
const ids = (x: tg.Tensor, scale: 'tanh' | 'none' = 'tanh') =>
  tg.tidy(() => (scale === 'tanh' ? x.add(1).mul(127.5).round() : x).select(1, 0).select(1, 0).select(1, 0).toArray());

test('tanh scaling is exactly the float32 nearest to x/127.5 - 1, for all 256 byte values', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const dl = new TensorDataLoader(tg.tensor(all, [256, 1]), { batchSize: 256, shuffle: false });
  const x = dl.next();
  assert.equal(x.shape, [256, 1]);
  assert.is(x.dtype, 'float32');
  const v = x.data() as Float32Array;
  for (let i = 0; i < 256; i++) assert.is(v[i], Math.fround((2 * i - 255) / 255), `byte ${i}`);
  assert.is(v[0], -1);
  assert.is(v[255], 1);
  const unit = new TensorDataLoader(tg.tensor(all, [256, 1]), { batchSize: 256, shuffle: false, scale: 'unit' }).next().data() as Float32Array;
  for (let i = 0; i < 256; i++) assert.is(unit[i], Math.fround(i / 255));
  const none = new TensorDataLoader(tg.tensor(all, [256, 1]), { batchSize: 256, shuffle: false, scale: 'none' }).next().data() as Float32Array;
  assert.is(none[200], 200);
});

test('shape, labels follow their samples, without shuffle the order is 0..n-1', () => {
  const dl = new TensorDataLoader(dataset(10), { batchSize: 4, shuffle: false });
  const b = dl.nextBatch();
  assert.equal(b.x.shape, [4, 1, 2, 2]);
  assert.equal(ids(b.x), [0, 1, 2, 3]);
  assert.equal(b.y!.toArray(), [0, 1, 2, 3]);
  assert.is(b.y!.dtype, 'int64');
  const s = new TensorDataLoader(dataset(50), { batchSize: 10, seed: 5 });
  const sb = s.nextBatch();
  assert.equal(sb.y!.toArray(), ids(sb.x).map((i) => i % 10));
});

test('each epoch is a permutation; the same seed gives the same sequence, another seed another', () => {
  const run = (seed: number) => {
    const dl = new TensorDataLoader(dataset(40), { batchSize: 8, seed });
    const epochs: number[][] = [[], [], []];
    for (let k = 0; k < 15; k++) {
      const b = dl.nextBatch();
      epochs[b.epoch].push(...ids(b.x));
    }
    return epochs;
  };
  const a = run(1), b = run(1), c = run(2);
  assert.equal(a, b);
  assert.not.equal(a[0], c[0]);
  for (const e of a) assert.equal([...e].sort((p, q) => p - q), Array.from({ length: 40 }, (_, i) => i));
  assert.not.equal(a[0], a[1]); // a fresh order each epoch
  assert.not.equal(a[0], Array.from({ length: 40 }, (_, i) => i));
});

test('the order does not depend on the torch generator', () => {
  tg.manualSeed(1);
  const a = ids(new TensorDataLoader(dataset(30), { batchSize: 30, seed: 9 }).next());
  tg.manualSeed(2);
  tg.randn([100]);
  const b = ids(new TensorDataLoader(dataset(30), { batchSize: 30, seed: 9 }).next());
  assert.equal(a, b);
});

test('dropLast: full batches only (true) or a short last batch (false); epochs advance by themselves', () => {
  const t = new TensorDataLoader(dataset(10), { batchSize: 4, shuffle: false, dropLast: true });
  assert.is(t.batchesPerEpoch, 2);
  const sizes: number[] = [];
  const flags: boolean[] = [];
  for (let k = 0; k < 5; k++) {
    const b = t.nextBatch();
    sizes.push(b.x.shape[0]);
    flags.push(b.lastInEpoch);
  }
  assert.equal(sizes, [4, 4, 4, 4, 4]);
  assert.equal(flags, [false, true, false, true, false]);
  assert.is(t.epoch, 2);
  const f = new TensorDataLoader(dataset(10), { batchSize: 4, shuffle: false, dropLast: false });
  assert.is(f.length, 3);
  const fs: number[][] = [];
  for (let k = 0; k < 4; k++) fs.push(ids(f.next()));
  assert.equal(fs, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]);
  const one = [...new TensorDataLoader(dataset(10), { batchSize: 3, shuffle: false, dropLast: false })].map((x) => x.shape[0]);
  assert.equal(one, [3, 3, 3, 1]);
});

test('stateDict / loadStateDict resume the exact same sequence (also across epochs, through JSON)', () => {
  const opts = { batchSize: 7, seed: 42 };
  const a = new TensorDataLoader(dataset(30), opts);
  for (let k = 0; k < 6; k++) a.next(); // into the second epoch (4 batches per epoch)
  const saved = JSON.parse(JSON.stringify(a.stateDict()));
  assert.equal(saved, { epoch: 1, position: 14, seed: 42, shuffle: true, batchSize: 7, dropLast: true, n: 30 });
  const expected: number[][] = [];
  for (let k = 0; k < 9; k++) expected.push(ids(a.next()));
  const b = new TensorDataLoader(dataset(30), { batchSize: 7, seed: 0 }); // the seed comes from the state
  b.next();
  b.loadStateDict(saved);
  const got: number[][] = [];
  for (let k = 0; k < 9; k++) got.push(ids(b.next()));
  assert.equal(got, expected);
  assert.throws(() => b.loadStateDict({ ...saved, n: 31 }), /30 samples/);
  assert.throws(() => b.loadStateDict({ ...saved, shuffle: false }), /shuffle/);
});

test('batches are freed by tidy; the loader keeps its data across tidy scopes', () => {
  const dl = new TensorDataLoader(dataset(20), { batchSize: 5 });
  let x!: tg.Tensor;
  tg.tidy(() => {
    x = dl.next();
    x.sum();
  });
  assert.ok(x.isDisposed);
  const y = tg.tidy(() => dl.next());
  assert.ok(!y.isDisposed);
  assert.equal(y.shape, [5, 1, 2, 2]);
  y.dispose();
  dl.dispose();
  assert.throws(() => dl.next(), /dispose/);
});

test('float tensors pass through with scale none; errors name the option', () => {
  const pts = tg.randn([12, 2]);
  const dl = new TensorDataLoader(pts, { batchSize: 12, shuffle: false });
  const b = dl.next();
  assert.equal(b.toArray(), pts.toArray());
  assert.throws(() => new TensorDataLoader(pts, { batchSize: 4, scale: 'tanh' }), /options.scale/);
  assert.throws(() => new TensorDataLoader(dataset(5), { batchSize: 8 }), /at most the dataset size 5/);
  assert.throws(() => new TensorDataLoader(dataset(5), { batchSize: 0 }), /options.batchSize/);
  assert.throws(() => new TensorDataLoader(dataset(5), { batchSize: 2, shufle: true } as object as { batchSize: number }), /Unknown option 'shufle'/);
  assert.throws(() => new TensorDataLoader({ ...dataset(5), n: 6 }, { batchSize: 2 }), /24 bytes/);
});

testUnless(tg.cuda.isAvailable() ? null : 'CUDA is not available')('on CUDA: data, index and batches on the device', () => {
  const dl = new TensorDataLoader(dataset(64), { batchSize: 16, device: 'cuda', seed: 3 });
  const b = dl.nextBatch();
  assert.match(b.x.device, 'cuda');
  assert.match(b.y!.device, 'cuda');
  const cpu = new TensorDataLoader(dataset(64), { batchSize: 16, seed: 3 }).nextBatch();
  assert.equal(b.x.cpu().toArray(), cpu.x.toArray());
});

test('shard: rank r of W gets DistributedSampler\'s partition of the global batches (disjoint, together the one-process batch)', () => {
  const n = 100;
  const ids = (x: tg.Tensor) => (x.select(1, 0).select(1, 0).select(1, 0).toArray() as number[]).map((v) => Math.round(((v + 1) * 255) / 2));
  const whole = new TensorDataLoader(dataset(n), { batchSize: 12, seed: 5 });
  const shards = [0, 1, 2].map((rank) => new TensorDataLoader(dataset(n), { batchSize: 12, seed: 5, shard: { rank, worldSize: 3 } }));
  const seen: number[][] = [[], [], []];
  for (let b = 0; b < 8; b++) { // one epoch (8 batches of 12) and the first batch of the next
    const g = whole.nextBatch();
    const global = ids(g.x);
    const parts = shards.map((l) => l.nextBatch());
    parts.forEach((p, r) => {
      assert.equal(ids(p.x), global.filter((_, i) => i % 3 === r), `batch ${b}, rank ${r}`);
      assert.equal(p.y!.toArray(), (g.y!.toArray() as number[]).filter((_, i) => i % 3 === r));
      if (b < 8) seen[r].push(...ids(p.x));
    });
  }
  // the same as a DistributedSampler of the epoch's permutation (seeded alike), cut to whole batches
  shards.forEach((l, r) => {
    const sampler = new tg.DistributedSampler(n, { rank: r, worldSize: 3, seed: 5 });
    assert.equal(seen[r], Array.from(sampler.indices()).slice(0, 32).map((i) => i & 255));
    assert.equal(l.stateDict(), whole.stateDict(), 'the position is the global one');
  });
  assert.throws(() => new TensorDataLoader(dataset(n), { batchSize: 10, shard: { rank: 0, worldSize: 3 } }), /multiple of the world size 3.*options.batchSize/);
  assert.throws(() => new TensorDataLoader(dataset(n), { batchSize: 12, shard: { rank: 3, worldSize: 3 } }), /\[0, 3\) for TensorDataLoader options\.shard\.rank/);
  assert.throws(() => new TensorDataLoader(dataset(n), { batchSize: 12, dropLast: false, shard: { rank: 0, worldSize: 3 } }), /dropLast/);
});

test.run();
