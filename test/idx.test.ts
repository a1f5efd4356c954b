import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorMessage as message } from './helpers/errors';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { readIdxImages, readIdxLabels, parseIdxImages, encodeIdxImages, encodeIdxLabels } from '../lib/data/idx';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-idx-'));
const n = 7, rows = 5, cols = 4;
const images = Uint8Array.from({ length: n * rows * cols }, (_, i) => (i * 37 + 11) & 255);
const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
const imgRaw = encodeIdxImages(images, n, rows, cols);
const lblRaw = encodeIdxLabels(labels);
const file = (name: string, data: Uint8Array) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
};


test('header layout is big-endian with magic 0x00000803 / 0x00000801', () => {
  assert.equal([...imgRaw.subarray(0, 16)], [0, 0, 8, 3, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 4]);
  assert.equal([...lblRaw.subarray(0, 8)], [0, 0, 8, 1, 0, 0, 0, 7]);
});

test('valid raw files read back exactly', () => {
  const im = readIdxImages(file('img-idx3-ubyte', imgRaw));
  assert.equal([im.n, im.rows, im.cols], [n, rows, cols]);
  assert.ok(im.images instanceof Uint8Array);
  assert.equal([...im.images], [...images]);
  const lb = readIdxLabels(file('lbl-idx1-ubyte', lblRaw));
  assert.is(lb.n, n);
  assert.equal([...lb.labels], [...labels]);
});

test('valid gzip files (.gz) read back exactly', () => {
  const im = readIdxImages(file('img-idx3-ubyte.gz', zlib.gzipSync(imgRaw)));
  assert.equal([...im.images], [...images]);
  const lb = readIdxLabels(file('lbl-idx1-ubyte.gz', zlib.gzipSync(lblRaw)));
  assert.equal([...lb.labels], [...labels]);
});

test('gzip content is detected even without the .gz suffix', () => {
  const im = readIdxImages(file('gz-no-suffix', zlib.gzipSync(imgRaw)));
  assert.equal([...im.images], [...images]);
});

test('a truncated raw images file names the file, expected and received lengths', () => {
  const p = file('trunc-idx3-ubyte', imgRaw.subarray(0, imgRaw.length - 10));
  const m = message(() => readIdxImages(p));
  assert.match(m, p);
  assert.match(m, `expected ${imgRaw.length} bytes`);
  assert.match(m, `received ${imgRaw.length - 10} bytes`);
  assert.match(m, 'truncated');
  assert.match(m, '7 images x 5 rows x 4 columns');
});

test('a truncated raw labels file is an error', () => {
  const p = file('trunc-idx1-ubyte', lblRaw.subarray(0, 10));
  const m = message(() => readIdxLabels(p));
  assert.match(m, p);
  assert.match(m, 'expected 15 bytes');
  assert.match(m, 'received 10 bytes');
});

test('a truncated header is an error', () => {
  const p = file('short-header', imgRaw.subarray(0, 9));
  const m = message(() => readIdxImages(p));
  assert.match(m, p);
  assert.match(m, '16-byte header');
  assert.match(m, 'received 9 bytes');
  assert.match(message(() => readIdxImages(file('empty', new Uint8Array(0)))), 'received 0 bytes');
});

test('a truncated gzip file is an error naming the file', () => {
  const gz = zlib.gzipSync(imgRaw);
  const p = file('trunc.gz', gz.subarray(0, gz.length - 12));
  const m = message(() => readIdxImages(p));
  assert.match(m, p);
  assert.match(m, /gzip data is corrupt or truncated/);
});

test('trailing bytes are an error', () => {
  const p = file('long', Buffer.concat([imgRaw, Buffer.from([1, 2, 3])]));
  const m = message(() => readIdxImages(p));
  assert.match(m, '3 unexpected trailing bytes');
});

test('wrong magic: a labels file read as images, and vice versa', () => {
  const lp = file('labels-as-images', lblRaw);
  const m = message(() => readIdxImages(lp));
  assert.match(m, lp);
  assert.match(m, 'expected magic number 0x00000803');
  assert.match(m, 'received 0x00000801');
  const ip = file('images-as-labels', imgRaw);
  const m2 = message(() => readIdxLabels(ip));
  assert.match(m2, 'expected magic number 0x00000801');
  assert.match(m2, 'received 0x00000803');
  const junk = file('junk', Buffer.from('PK\x03\x04 this is a zip, not IDX......'));
  assert.match(message(() => readIdxImages(junk)), 'not an IDX file');
  const floats = Buffer.from(imgRaw);
  floats[2] = 0x0d;
  assert.match(message(() => parseIdxImages(floats, 'f')), 'float data');
});

test('a .gz name with raw content is an error', () => {
  const p = file('fake.gz', imgRaw);
  assert.match(message(() => readIdxImages(p)), 'not gzip data');
});

test('a missing file is an error naming it', () => {
  const p = path.join(dir, 'does-not-exist');
  const m = message(() => readIdxImages(p));
  assert.match(m, p);
  assert.match(m, 'ENOENT');
});

test('zero images is valid', () => {
  const im = parseIdxImages(encodeIdxImages(new Uint8Array(0), 0, 28, 28));
  assert.is(im.n, 0);
  assert.is(im.images.length, 0);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
