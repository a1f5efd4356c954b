import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodePng } from '../lib/io/png';
import { loadImageFolder, listImageFiles, loadSharp } from '../lib/data/imagefolder';
import { isTorchError } from './helpers/errors';
import { testUnless } from './helpers/skip';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-folder-'));
// The decoding tests need the optional dependency sharp: without it they are skipped, saying why.
let noSharp: string | null = null;
try {
  loadSharp();
} catch (e) {
  noSharp = (e as Error).message.split('\n')[0];
}
const withSharp = testUnless(noSharp);

/** A w x h RGB PNG: left third red, middle third green, right third blue (a wide image). */
function stripes(w: number, h: number): Buffer {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const band = Math.floor((3 * x) / w);
    px[(y * w + x) * 3 + band] = 255;
  }
  return encodePng(px, w, h, 3);
}

fs.mkdirSync(path.join(dir, 'img_align_celeba'));
fs.writeFileSync(path.join(dir, 'img_align_celeba', '000002.png'), stripes(90, 30));
fs.writeFileSync(path.join(dir, 'img_align_celeba', '000001.png'), stripes(60, 60));
fs.writeFileSync(path.join(dir, 'img_align_celeba', 'notes.txt'), 'not an image');
fs.mkdirSync(path.join(dir, 'empty'));

test('lists image files sorted, recursively, ignoring other files', () => {
  const files = listImageFiles(dir).map((f) => path.relative(dir, f));
  assert.equal(files, [path.join('img_align_celeba', '000001.png'), path.join('img_align_celeba', '000002.png')]);
  assert.equal(listImageFiles(dir, { recursive: false }), []);
});

withSharp('decodes, centre-crops to a square and resizes to imgDim, NCHW RGB', async () => {
  const d = await loadImageFolder(dir, { imgDim: 16 });
  assert.equal([d.n, d.channels, d.height, d.width], [2, 3, 16, 16]);
  assert.is(d.images.length, 2 * 3 * 256);
  // image 1 (000002.png, 90x30): the centre 30x30 crop is the green band only
  const img = d.images.subarray(3 * 256, 6 * 256);
  const mean = (c: number) => img.subarray(c * 256, (c + 1) * 256).reduce((a, b) => a + b, 0) / 256;
  assert.ok(mean(0) < 5 && mean(1) > 250 && mean(2) < 5, `channel means ${[0, 1, 2].map(mean)}`);
  // image 0 (square stripes): red on the left column, blue on the right column, per plane
  const im0 = d.images.subarray(0, 3 * 256);
  assert.ok(im0[0 * 256 + 8 * 16 + 0] > 200, 'red plane, left');
  assert.ok(im0[2 * 256 + 8 * 16 + 15] > 200, 'blue plane, right');
  assert.ok(im0[0 * 256 + 8 * 16 + 15] < 50, 'red plane, right');
  assert.equal(d.files.map((f) => path.basename(f)), ['000001.png', '000002.png']);
  const g = await loadImageFolder(dir, { imgDim: 8, grayscale: true, limit: 1 });
  assert.equal([g.n, g.channels, g.images.length], [1, 1, 64]);
});

const fail = async (p: Promise<unknown>, code: string, re: RegExp | string) =>
  p.then(() => assert.unreachable('should fail'), (e: unknown) => assert.ok(isTorchError(code, re)(e), String(e)));

test('errors: no images, missing folder, a bad option', async () => {
  await fail(loadImageFolder(path.join(dir, 'empty')), 'ERR_DATA', 'no images');
  await fail(loadImageFolder(path.join(dir, 'missing')), 'ERR_DATA', 'does not exist');
  await fail(loadImageFolder(dir, { imgDim: 0 }), 'ERR_INVALID_ARG', 'options.imgDim');
});

withSharp('errors: an undecodable file fails naming it, or is skipped with skipBad', async () => {
  const bad = path.join(dir, 'bad');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'a.jpg'), 'garbage');
  fs.writeFileSync(path.join(bad, 'b.png'), stripes(10, 10));
  await fail(loadImageFolder(bad), 'ERR_DATA', /cannot decode '.*a\.jpg'/);
  const skipped = await loadImageFolder(bad, { skipBad: true, imgDim: 4 });
  assert.is(skipped.n, 1);
  assert.match(skipped.source, '1 skipped');
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
