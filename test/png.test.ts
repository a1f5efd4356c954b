import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { encodePng, decodePng, imageGrid, imageGridPixels, saveImageGrid } from '../lib/io/png';
import { encodeGif, writeGif } from '../lib/io/gif';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-png-'));
const f32 = Math.fround;
/** torchvision save_image's byte for v in [lo, hi], each step in float32 as libtorch computes it. */
const toByte = (v: number, lo: number, hi: number) => {
  const c = Math.min(Math.max(f32(v), lo), hi);
  return Math.trunc(Math.min(255, f32(f32(f32(f32(c - lo) / f32(hi - lo)) * 255) + 0.5)));
};

test('encodePng / decodePng round trip for 1, 3 and 4 channels', () => {
  const w = 5, h = 3;
  for (const ch of [1, 3, 4] as const) {
    const px = Uint8Array.from({ length: w * h * ch }, (_, i) => (i * 29) & 255);
    const d = decodePng(encodePng(px, w, h, ch));
    assert.equal([d.width, d.height], [w, h]);
    for (let i = 0; i < w * h; i++) {
      const rgba = [...d.data.subarray(i * 4, i * 4 + 4)];
      const want = ch === 1 ? [px[i], px[i], px[i], 255] : ch === 3 ? [px[3 * i], px[3 * i + 1], px[3 * i + 2], 255] : [...px.subarray(4 * i, 4 * i + 4)];
      assert.equal(rgba, want);
    }
  }
  assert.throws(() => encodePng(new Uint8Array(10), 5, 3, 1), /15 bytes/);
  assert.throws(() => decodePng(Buffer.from('not a png')), /not a valid PNG/);
});

test('RGB grid: layout as make_grid and every pixel as save_image computes it', () => {
  tg.manualSeed(3);
  const n = 10, c = 3, h = 5, w = 7, nrow = 4, pad = 2;
  const x = tg.rand([n, c, h, w]).mul(2.4).sub(1.2); // some values outside [-1, 1] are clamped
  const vals = x.data() as Float32Array;
  const png = imageGrid(x, { nrow, padding: pad });
  const d = decodePng(png);
  const xmaps = nrow, ymaps = Math.ceil(n / nrow);
  assert.equal([d.width, d.height], [xmaps * (w + pad) + pad, ymaps * (h + pad) + pad]);
  let mismatches = 0;
  for (let k = 0; k < n; k++) {
    const gx = (k % xmaps) * (w + pad) + pad, gy = Math.floor(k / xmaps) * (h + pad) + pad;
    for (let ch = 0; ch < c; ch++) for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
      const want = toByte(vals[((k * c + ch) * h + yy) * w + xx], -1, 1);
      if (d.data[((gy + yy) * d.width + gx + xx) * 4 + ch] !== want) mismatches++;
    }
  }
  assert.is(mismatches, 0);
  // padding and the empty cells (10 images in a 4x3 grid) are black
  assert.equal([...d.data.subarray(0, 4)], [0, 0, 0, 255]);
  const emptyCell = ((2 * (h + pad) + pad + 1) * d.width + 3 * (w + pad) + pad + 1) * 4;
  assert.equal([...d.data.subarray(emptyCell, emptyCell + 3)], [0, 0, 0]);
});

test('gray grid from [0, 1] values, one row when n < nrow, padValue', () => {
  const img = tg.tensor(Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => i / 31), [2, 1, 4, 4]);
  const g = imageGridPixels(img, { range: [0, 1], padding: 1, padValue: 1 });
  assert.is(g.channels, 1);
  assert.equal([g.width, g.height], [2 * 5 + 1, 4 + 2]);
  assert.is(g.data[0], 255); // white padding
  const d = decodePng(imageGrid(img, { range: [0, 1], padding: 1, padValue: 1 }));
  for (let i = 0; i < 32; i++) {
    const k = Math.floor(i / 16), yy = Math.floor((i % 16) / 4), xx = i % 4;
    const at = ((1 + yy) * d.width + 1 + k * 5 + xx) * 4;
    assert.is(d.data[at], toByte(i / 31, 0, 1), `pixel ${i}`);
  }
});

test("range 'auto' maps the batch min..max to 0..255; a single CHW image works", () => {
  const img = tg.tensor([[[3, 5], [7, 11]]]); // 1x2x2, CHW
  const g = imageGridPixels(img, { range: 'auto', padding: 0 });
  assert.equal([...g.data], [0, 64, 128, 255]);
});

test('grid errors name the parameter', () => {
  assert.throws(() => imageGrid(tg.zeros([2, 2, 4, 4])), /1 or 3 channels/);
  assert.throws(() => imageGrid(tg.zeros([4, 4])), /4-d/);
  assert.throws(() => imageGrid(tg.zeros([1, 1, 4, 4]), { range: [1, 0] }), /options.range/);
  assert.throws(() => imageGrid(tg.zeros([1, 1, 4, 4]), { nrows: 2 } as object), /Unknown option 'nrows'/);
});

test('saveImageGrid writes a decodable PNG atomically', () => {
  const p = path.join(dir, 'grid.png');
  saveImageGrid(p, tg.zeros([3, 1, 8, 8]), { nrow: 3 });
  const d = decodePng(fs.readFileSync(p));
  assert.equal([d.width, d.height], [3 * 10 + 2, 12]);
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

/** Distinct colours and non-white pixel count of a decoded image. */
test('GIF: header, size, frames; atomic file', () => {
  const frames = [0, 1, 2].map((k) => imageGrid(tg.full([4, 3, 6, 6], k / 2 - 0.5), { nrow: 2 }));
  for (const palette of ['per-frame', 'shared'] as const) {
    const gif = Buffer.from(encodeGif(frames, { delayMs: 100, palette }));
    assert.is(gif.subarray(0, 6).toString('latin1'), 'GIF89a');
    const g = decodePng(frames[0]);
    assert.equal([gif.readUInt16LE(6), gif.readUInt16LE(8)], [g.width, g.height]);
    assert.is(gif[gif.length - 1], 0x3b);
    // graphic control extensions (0x21 0xF9), one per frame, with delay 10 (1/100 s)
    let gce = 0;
    for (let i = 0; i + 5 < gif.length; i++) if (gif[i] === 0x21 && gif[i + 1] === 0xf9 && gif[i + 2] === 4 && gif.readUInt16LE(i + 4) === 10) gce++;
    assert.is(gce, 3);
  }
  const raw = { data: new Uint8Array(8 * 8 * 4).fill(200), width: 8, height: 8 };
  const p = path.join(dir, 'a.gif');
  writeGif(p, [raw, raw], { delayMs: 50 });
  assert.is(fs.readFileSync(p).subarray(0, 6).toString('latin1'), 'GIF89a');
  assert.throws(() => encodeGif([raw, { ...raw, width: 4, data: new Uint8Array(4 * 8 * 4) }]), /8x8 frame/);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
