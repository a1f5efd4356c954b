// PNG encode/decode (pngjs) and image grids of generated samples, like
// torchvision.utils.make_grid + save_image.
import { PNG } from 'pngjs';
import { Tensor, tidy } from '../tensor';
import { checkOptionKeys, expectedError, invalidArgument, invalidParameterError, is } from '../errors';
import { writeFileAtomic } from './atomic';

/** Channels per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
export type PngChannels = 1 | 2 | 3 | 4;
const COLOR_TYPE: Record<PngChannels, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/**
 * Encodes 8-bit interleaved pixels (row-major, `channels` bytes per pixel) as a PNG.
 * channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (default 4).
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: PngChannels = 4): Buffer {
  if (!(pixels instanceof Uint8Array)) throw invalidParameterError('encodePng() pixels', 'a Uint8Array or Buffer', pixels);
  if (!is.positiveInteger(width)) throw invalidParameterError('encodePng() width', 'a positive integer', width);
  if (!is.positiveInteger(height)) throw invalidParameterError('encodePng() height', 'a positive integer', height);
  if (!(channels === 1 || channels === 2 || channels === 3 || channels === 4)) {
    throw invalidParameterError('encodePng() channels', '1, 2, 3 or 4', channels);
  }
  const expected = width * height * channels;
  if (pixels.length !== expected) {
    throw expectedError('encodePng() pixels', `${expected} bytes (${width}x${height}x${channels})`, `${pixels.length} bytes`);
  }
  const data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const ct = COLOR_TYPE[channels];
  return PNG.sync.write({ width, height, data } as unknown as PNG, {
    colorType: ct as 0 | 2 | 4 | 6,
    inputColorType: ct as 0 | 2 | 4 | 6,
    inputHasAlpha: channels === 2 || channels === 4,
    bitDepth: 8,
  });
}

export interface DecodedImage {
  width: number;
  height: number;
  /** Always 4: data is RGBA, row-major. */
  channels: 4;
  data: Uint8Array;
}

/** Decodes a PNG (any colour type / bit depth) to 8-bit RGBA. */
export function decodePng(buffer: Uint8Array): DecodedImage {
  if (!(buffer instanceof Uint8Array)) throw invalidParameterError('decodePng() buffer', 'a Buffer or Uint8Array', buffer);
  const buf = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    throw invalidArgument(`decodePng(): not a valid PNG (${(e as Error).message})`, { parameter: 'decodePng() buffer', expected: 'PNG data', received: `${buf.length} bytes that pngjs cannot decode` });
  }
  return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

export interface ImageGridOptions {
  /** Images per row (default 8), as torchvision's make_grid nrow. */
  nrow?: number;
  /** Pixels between images and around the border (default 2). */
  padding?: number;
  /**
   * Value range of the input, mapped to [0, 255] (values outside are clamped).
   * Default [-1, 1] (tanh generator output). Use [0, 1] for unit images, or 'auto'
   * for the batch's own min..max (torchvision normalize=True).
   */
  range?: [number, number] | 'auto';
  /** Padding colour as a fraction of white, 0..1 (default 0: black). */
  padValue?: number;
}
const GRID_KEYS = ['nrow', 'padding', 'range', 'padValue'] as const;

export interface GridPixels {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/**
 * Lays out a batch (N,C,H,W or C,H,W; C = 1 or 3) as one image: the pixels, before PNG encoding.
 * Value v maps to byte floor((clamp(v,lo,hi) - lo) / (hi - lo) * 255 + 0.5), computed in float32
 * as torchvision's save_image does.
 */
export function imageGridPixels(images: Tensor, options: ImageGridOptions = {}): GridPixels {
  if (!(images instanceof Tensor)) throw invalidParameterError('imageGrid() images', 'a Tensor (N,C,H,W)', images);
  checkOptionKeys('imageGrid()', options, GRID_KEYS);
  const nrow = options.nrow ?? 8;
  const padding = options.padding ?? 2;
  const padValue = options.padValue ?? 0;
  if (!is.positiveInteger(nrow)) throw invalidParameterError('imageGrid() options.nrow', 'a positive integer', nrow);
  if (!is.nonNegativeInteger(padding)) throw invalidParameterError('imageGrid() options.padding', 'a non-negative integer', padding);
  if (!is.inRange(padValue, 0, 1)) throw invalidParameterError('imageGrid() options.padValue', 'a number in [0, 1]', padValue);
  const shape = images.shape;
  if (shape.length !== 3 && shape.length !== 4) throw expectedError('imageGrid() images', 'a 4-d (N,C,H,W) or 3-d (C,H,W) tensor', `shape [${shape}]`);
  const [n, c, h, w] = shape.length === 4 ? shape : [1, ...shape];
  if (c !== 1 && c !== 3) throw expectedError('imageGrid() images', '1 or 3 channels (N,C,H,W)', `shape [${shape}]`);
  if (n === 0 || h === 0 || w === 0) throw expectedError('imageGrid() images', 'a non-empty batch', `shape [${shape}]`);

  let lo: number;
  let hi: number;
  const range = options.range ?? [-1, 1];
  if (range === 'auto') {
    [lo, hi] = tidy(() => [images.min().item(), images.max().item()]);
    if (!(hi > lo)) hi = lo + 1e-5;
  } else {
    if (!Array.isArray(range) || range.length !== 2 || !is.finite(range[0]) || !is.finite(range[1]) || !(range[1] > range[0])) {
      throw invalidParameterError('imageGrid() options.range', "[lo, hi] with lo < hi, or 'auto'", range);
    }
    [lo, hi] = range;
  }
  const bytes = tidy(() => {
    const f = images.detach().to(undefined, 'float32');
    const u8 = f.clamp(lo, hi).sub(lo).div(hi - lo).mul(255).add(0.5).clamp(0, 255).to(undefined, 'uint8');
    return u8.cpu().contiguous().data() as Uint8Array;
  });

  const xmaps = Math.min(nrow, n);
  const ymaps = Math.ceil(n / xmaps);
  const cellH = h + padding;
  const cellW = w + padding;
  const gw = xmaps * cellW + padding;
  const gh = ymaps * cellH + padding;
  const out = new Uint8Array(gw * gh * c);
  out.fill(Math.floor(padValue * 255 + 0.5));
  const plane = h * w;
  for (let k = 0; k < n; k++) {
    const gy = Math.floor(k / xmaps) * cellH + padding;
    const gx = (k % xmaps) * cellW + padding;
    const base = k * c * plane;
    for (let y = 0; y < h; y++) {
      let o = ((gy + y) * gw + gx) * c;
      const row = base + y * w;
      if (c === 1) {
        out.set(bytes.subarray(row, row + w), o);
      } else {
        for (let x = 0; x < w; x++, o += 3) {
          out[o] = bytes[row + x];
          out[o + 1] = bytes[row + plane + x];
          out[o + 2] = bytes[row + 2 * plane + x];
        }
      }
    }
  }
  return { width: gw, height: gh, channels: c as 1 | 3, data: out };
}

/** A batch of images as one PNG grid (grayscale PNG for 1 channel, RGB for 3). See imageGridPixels. */
export function imageGrid(images: Tensor, options: ImageGridOptions = {}): Buffer {
  const g = imageGridPixels(images, options);
  return encodePng(g.data, g.width, g.height, g.channels);
}

/** imageGrid written atomically to `file`. */
export function saveImageGrid(file: string, images: Tensor, options: ImageGridOptions = {}): void {
  writeFileAtomic(file, imageGrid(images, options));
}
