// Animated GIFs (e.g. the sample grid over training) with gifenc.
import { checkOptionKeys, expectedError, invalidParameterError, is } from '../errors';
import { decodePng } from './png';
import { writeFileAtomic } from './atomic';

// gifenc ships no type declarations: the part used here.
type Palette = number[][];
interface GifStream {
  writeFrame(index: Uint8Array, width: number, height: number, opts?: { palette?: Palette; delay?: number; repeat?: number; first?: boolean }): void;
  finish(): void;
  bytes(): Uint8Array;
}
interface Gifenc {
  GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): GifStream;
  quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: 'rgb565' | 'rgb444' | 'rgba4444' }): Palette;
  applyPalette(rgba: Uint8Array, palette: Palette, format?: 'rgb565' | 'rgb444' | 'rgba4444'): Uint8Array;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const gifenc = require('gifenc') as Gifenc;

/** One frame: PNG bytes, or raw RGBA pixels (row-major, 4 bytes per pixel). */
export type GifFrame = Uint8Array | { data: Uint8Array; width: number; height: number };

export interface GifOptions {
  /** Delay between frames in milliseconds (default 200). */
  delayMs?: number;
  /** 0 = loop forever (default), -1 = play once, n = repeat n times. */
  repeat?: number;
  /** 'per-frame' quantizes each frame to its own palette (default, best colours); 'shared' one palette for all frames (stable colours, smaller file). */
  palette?: 'per-frame' | 'shared';
  /** Colours per palette, 2..256 (default 256). */
  maxColors?: number;
}
const GIF_KEYS = ['delayMs', 'repeat', 'palette', 'maxColors'] as const;

function frameRgba(f: GifFrame, k: number): { data: Uint8Array; width: number; height: number } {
  if (f instanceof Uint8Array) {
    const isPng = f.length > 8 && f[0] === 0x89 && f[1] === 0x50 && f[2] === 0x4e && f[3] === 0x47;
    if (!isPng) throw invalidParameterError(`frames[${k}]`, 'PNG bytes or {data: RGBA Uint8Array, width, height}', f);
    const d = decodePng(f);
    return { data: d.data, width: d.width, height: d.height };
  }
  if (f === null || typeof f !== 'object' || !(f.data instanceof Uint8Array) || !is.positiveInteger(f.width) || !is.positiveInteger(f.height)) {
    throw invalidParameterError(`frames[${k}]`, 'PNG bytes or {data: RGBA Uint8Array, width, height}', f);
  }
  if (f.data.length !== f.width * f.height * 4) {
    throw expectedError(`frames[${k}].data`, `${f.width * f.height * 4} bytes (${f.width}x${f.height} RGBA)`, `${f.data.length} bytes`);
  }
  return f;
}

/** Encodes frames (all the same size) as an animated GIF; returns the bytes. */
export function encodeGif(frames: GifFrame[], options: GifOptions = {}): Uint8Array {
  checkOptionKeys('encodeGif()', options, GIF_KEYS);
  if (!Array.isArray(frames) || frames.length === 0) throw invalidParameterError('frames', 'a non-empty array of frames', frames);
  const delay = options.delayMs ?? 200;
  const repeat = options.repeat ?? 0;
  const mode = options.palette ?? 'per-frame';
  const maxColors = options.maxColors ?? 256;
  if (!is.finite(delay) || delay < 0) throw invalidParameterError('options.delayMs', 'a non-negative number', delay);
  if (!is.integer(repeat) || repeat < -1) throw invalidParameterError('options.repeat', 'an integer >= -1', repeat);
  if (!is.oneOf(mode, ['per-frame', 'shared'] as const)) throw invalidParameterError('options.palette', "'per-frame' or 'shared'", mode);
  if (!is.integer(maxColors) || maxColors < 2 || maxColors > 256) throw invalidParameterError('options.maxColors', 'an integer in [2, 256]', maxColors);

  const rgba = frames.map(frameRgba);
  const { width, height } = rgba[0];
  rgba.forEach((f, k) => {
    if (f.width !== width || f.height !== height) throw expectedError(`frames[${k}]`, `a ${width}x${height} frame (as frames[0])`, `${f.width}x${f.height}`);
  });

  let shared: Palette | null = null;
  if (mode === 'shared') {
    // Quantize a sample of pixels from all frames (at most ~1M pixels).
    const px = width * height;
    const total = px * rgba.length;
    const stride = Math.max(1, Math.ceil(total / 1_000_000));
    const sample = new Uint8Array(Math.ceil(total / stride) * 4);
    let o = 0;
    for (let g = 0; g < total; g += stride) {
      const f = rgba[Math.floor(g / px)].data;
      const i = (g % px) * 4;
      sample[o++] = f[i]; sample[o++] = f[i + 1]; sample[o++] = f[i + 2]; sample[o++] = f[i + 3];
    }
    shared = gifenc.quantize(sample.subarray(0, o), maxColors);
  }
  const gif = gifenc.GIFEncoder();
  rgba.forEach((f, k) => {
    const palette = shared ?? gifenc.quantize(f.data, maxColors);
    const index = gifenc.applyPalette(f.data, palette);
    gif.writeFrame(index, width, height, { palette: shared && k > 0 ? undefined : palette, delay, repeat });
  });
  gif.finish();
  return gif.bytes();
}

/** encodeGif written atomically to `file`. */
export function writeGif(file: string, frames: GifFrame[], options: GifOptions = {}): void {
  writeFileAtomic(file, encodeGif(frames, options));
}
