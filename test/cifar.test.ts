import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorMessage as message } from './helpers/errors';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCifar10, readCifar10Batch, encodeCifar10Batch, parseCifar10Batch, CIFAR10_TRAIN_FILES } from '../lib/data/cifar';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cifar-'));
const per = 3; // records per generated batch
/** Image bytes of record r of batch b: a recognisable pattern per plane. */
const pixel = (b: number, r: number, ch: number, i: number) => (b * 50 + r * 7 + ch * 85 + i) & 255;
function makeBatch(b: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(per * 3072);
  const labels = new Uint8Array(per);
  for (let r = 0; r < per; r++) {
    labels[r] = (b * per + r) % 10;
    for (let ch = 0; ch < 3; ch++) for (let i = 0; i < 1024; i++) images[r * 3072 + ch * 1024 + i] = pixel(b, r, ch, i);
  }
  return { images, labels };
}
CIFAR10_TRAIN_FILES.forEach((f, b) => {
  const { images, labels } = makeBatch(b);
  fs.writeFileSync(path.join(dir, f), encodeCifar10Batch(images, labels));
});
{
  const { images, labels } = makeBatch(9);
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), encodeCifar10Batch(images, labels));
}


test('record layout: 1 label byte then 3072 planar RGB bytes', () => {
  const buf = fs.readFileSync(path.join(dir, 'data_batch_2.bin'));
  assert.is(buf.length, per * 3073);
  assert.is(buf[3073], (1 * per + 1) % 10); // record 1's label
  assert.is(buf[3073 + 1 + 1024 + 5], pixel(1, 1, 1, 5)); // green plane, pixel 5
});

test('one batch reads back: labels and CHW images', () => {
  const b = readCifar10Batch(path.join(dir, 'data_batch_1.bin'));
  assert.is(b.n, per);
  const ref = makeBatch(0);
  assert.equal([...b.labels], [...ref.labels]);
  assert.equal(Buffer.compare(Buffer.from(b.images), Buffer.from(ref.images)), 0);
});

test('loadCifar10 train concatenates data_batch_1..5 in order', () => {
  const d = loadCifar10({ dir });
  assert.equal([d.n, d.channels, d.height, d.width], [5 * per, 3, 32, 32]);
  assert.is(d.images.length, 5 * per * 3072);
  for (let b = 0; b < 5; b++) {
    for (let r = 0; r < per; r++) {
      const k = b * per + r;
      assert.is(d.labels![k], (b * per + r) % 10);
      assert.is(d.images[k * 3072 + 2 * 1024 + 100], pixel(b, r, 2, 100));
    }
  }
  assert.is(d.classes![0], 'airplane');
  assert.match(d.source, 'CIFAR-10 train');
});

test('loadCifar10 test split and limit', () => {
  const t = loadCifar10({ dir, split: 'test' });
  assert.is(t.n, per);
  assert.is(t.images[0], pixel(9, 0, 0, 0));
  const l = loadCifar10({ dir, limit: 4 });
  assert.is(l.n, 4);
  assert.is(l.labels!.length, 4);
  assert.is(l.images[3 * 3072], pixel(1, 0, 0, 0));
});

test('a length that is not a multiple of 3073 is an error naming the file', () => {
  const p = path.join(dir, 'truncated.bin');
  fs.writeFileSync(p, fs.readFileSync(path.join(dir, 'data_batch_1.bin')).subarray(0, 2 * 3073 + 100));
  const m = message(() => readCifar10Batch(p));
  assert.match(m, p);
  assert.match(m, 'multiple of 3073');
  assert.match(m, `received ${2 * 3073 + 100} bytes`);
  assert.match(m, '2 whole records + 100 bytes');
  assert.match(message(() => parseCifar10Batch(new Uint8Array(0), 'empty')), 'received 0 bytes');
});

test('a label above 9 is an error', () => {
  const buf = Buffer.from(fs.readFileSync(path.join(dir, 'data_batch_1.bin')));
  buf[3073] = 42;
  const m = message(() => parseCifar10Batch(buf, 'bad.bin'));
  assert.match(m, 'bad.bin');
  assert.match(m, 'record 1');
  assert.match(m, 'received 42');
});

test('a missing folder says where it looked and how to get the data', () => {
  const m = message(() => loadCifar10({ dir: path.join(dir, 'nope') }));
  assert.match(m, path.join(dir, 'nope'));
  assert.match(m, 'cifar-10-binary.tar.gz');
  assert.match(m, 'data_batch_1.bin');
});

test('bad options are errors', () => {
  assert.throws(() => loadCifar10({ dir, split: 'val' as 'train' }), /split/);
  assert.throws(() => loadCifar10({ dir, lmit: 3 } as object), /Unknown option 'lmit'/);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
