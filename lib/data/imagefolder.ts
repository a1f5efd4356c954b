// A folder of images (CelebA style: img_align_celeba/*.jpg), decoded with the
// optional dependency sharp: scaled so the shorter side is imgDim and centre-cropped
// to imgDim x imgDim (torchvision Resize(imgDim) + CenterCrop(imgDim)), RGB.
import * as fs from 'fs';
import * as path from 'path';
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { dataError } from './data-error';
import type { ImageDataset } from './types';

// The part of sharp's API used here (sharp is optional, so no compile-time dependency on its types).
interface SharpPipeline {
  resize(w: number, h: number, o: { fit: 'cover'; position: 'centre'; kernel?: string }): SharpPipeline;
  removeAlpha(): SharpPipeline;
  toColourspace(c: string): SharpPipeline;
  grayscale(): SharpPipeline;
  raw(): SharpPipeline;
  toBuffer(o: { resolveWithObject: true }): Promise<{ data: Buffer; info: { width: number; height: number; channels: number } }>;
}
type SharpFn = (input: string, options?: { failOn?: string }) => SharpPipeline;

let sharpCache: SharpFn | null = null;

/** Loads sharp on first use, with a clear error if it is not installed. */
export function loadSharp(): SharpFn {
  if (sharpCache) return sharpCache;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require('sharp') as unknown;
    sharpCache = (typeof mod === 'function' ? mod : (mod as { default: unknown }).default) as SharpFn;
    return sharpCache;
  } catch (e) {
    throw dataError(
      `Decoding JPEG/PNG image folders needs the optional dependency 'sharp', which could not be loaded (${(e as Error).message.split('\n')[0]}). ` +
        `Install it with: npm install sharp`,
      { cause: e },
    );
  }
}

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ImageFolderOptions {
  /** Output size: images are imgDim x imgDim (default 64). */
  imgDim?: number;
  /** Keep only the first `limit` files (in sorted order). */
  limit?: number;
  /** Look into sub-folders too (default true). */
  recursive?: boolean;
  /** File extensions to accept, lower case with the dot (default .jpg .jpeg .png .webp). */
  extensions?: string[];
  /** 1 channel (grayscale) instead of 3 (RGB, default). */
  grayscale?: boolean;
  /** Images decoded at the same time (default 4). */
  concurrency?: number;
  /** Skip files that fail to decode (default false: throw naming the file). */
  skipBad?: boolean;
  /** Called after each decoded image. */
  onProgress?: (done: number, total: number) => void;
}
const FOLDER_KEYS = ['imgDim', 'limit', 'recursive', 'extensions', 'grayscale', 'concurrency', 'skipBad', 'onProgress'] as const;

/** The image files under `dir`, sorted (by path) for a deterministic order. */
export function listImageFiles(dir: string, options: { recursive?: boolean; extensions?: string[] } = {}): string[] {
  const exts = (options.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase());
  const recursive = options.recursive ?? true;
  const out: string[] = [];
  const walk = (d: string) => {
    const entries = fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (recursive && !e.name.startsWith('.')) walk(p);
      } else if (exts.includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Loads every image under `dir` into one NCHW uint8 ImageDataset (imgDim x imgDim, RGB or gray).
 * Needs sharp; throws if it is missing, if `dir` is not a folder or holds no images.
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageDataset & { files: string[] }> {
  checkOptionKeys('loadImageFolder()', options, FOLDER_KEYS);
  if (!is.string(dir) || dir.length === 0) throw invalidParameterError('loadImageFolder() dir', 'a folder path', dir);
  const imgDim = options.imgDim ?? 64;
  if (!is.integer(imgDim) || imgDim < 1 || imgDim > 4096) throw invalidParameterError('loadImageFolder() options.imgDim', 'an integer in [1, 4096]', imgDim);
  if (options.limit !== undefined && !is.positiveInteger(options.limit)) throw invalidParameterError('loadImageFolder() options.limit', 'a positive integer', options.limit);
  const concurrency = options.concurrency ?? 4;
  if (!is.integer(concurrency) || concurrency < 1 || concurrency > 64) throw invalidParameterError('loadImageFolder() options.concurrency', 'an integer in [1, 64]', concurrency);
  if (options.extensions !== undefined && (!Array.isArray(options.extensions) || !options.extensions.every((e) => is.string(e) && e.startsWith('.')))) {
    throw invalidParameterError('loadImageFolder() options.extensions', "an array of extensions like ['.jpg', '.png']", options.extensions);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw dataError(`loadImageFolder(): the folder '${path.resolve(dir)}' does not exist`, { parameter: 'dir', expected: 'a folder', received: `'${path.resolve(dir)}', which does not exist` });
  }
  if (!st.isDirectory()) throw dataError(`loadImageFolder(): expected a folder but '${path.resolve(dir)}' is a file`, { parameter: 'dir', expected: 'a folder', received: `'${path.resolve(dir)}', a file` });
  const exts = options.extensions ?? IMAGE_EXTENSIONS;
  let files = listImageFiles(dir, { recursive: options.recursive ?? true, extensions: exts });
  if (files.length === 0) {
    throw dataError(`loadImageFolder(): no images (${exts.join(', ')}) in '${path.resolve(dir)}'${options.recursive === false ? '' : ' or its sub-folders'}`);
  }
  if (options.limit !== undefined) files = files.slice(0, options.limit);
  const sharp = loadSharp();
  const channels = options.grayscale ? 1 : 3;
  const per = channels * imgDim * imgDim;
  const plane = imgDim * imgDim;
  let images = new Uint8Array(files.length * per);
  const ok = new Uint8Array(files.length);
  let done = 0;
  let next = 0;

  const decodeOne = async (k: number): Promise<void> => {
    const file = files[k];
    let data: Buffer;
    let info: { width: number; height: number; channels: number };
    try {
      let p = sharp(file).resize(imgDim, imgDim, { fit: 'cover', position: 'centre' }).removeAlpha();
      p = options.grayscale ? p.grayscale() : p.toColourspace('srgb');
      ({ data, info } = await p.raw().toBuffer({ resolveWithObject: true }));
    } catch (e) {
      if (options.skipBad) return;
      throw dataError(`loadImageFolder(): cannot decode '${file}' (${(e as Error).message})`, { cause: e });
    }
    if (info.width !== imgDim || info.height !== imgDim) throw dataError(`loadImageFolder(): '${file}' decoded to ${info.width}x${info.height}, expected ${imgDim}x${imgDim}`);
    // HWC interleaved -> CHW planar
    const base = k * per;
    const c = info.channels;
    for (let i = 0; i < plane; i++) {
      for (let ch = 0; ch < channels; ch++) images[base + ch * plane + i] = data[i * c + (c === 1 ? 0 : ch)];
    }
    ok[k] = 1;
  };
  let failed = false;
  const worker = async () => {
    while (next < files.length && !failed) {
      const k = next++;
      try {
        await decodeOne(k);
      } catch (e) {
        failed = true;
        throw e;
      }
      done++;
      options.onProgress?.(done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

  let kept = files;
  const bad = files.length - ok.reduce((a, b) => a + b, 0);
  if (bad > 0) {
    kept = files.filter((_, k) => ok[k]);
    if (kept.length === 0) throw dataError(`loadImageFolder(): none of the ${files.length} images in '${path.resolve(dir)}' could be decoded`);
    const compact = new Uint8Array(kept.length * per);
    let at = 0;
    for (let k = 0; k < files.length; k++) if (ok[k]) compact.set(images.subarray(k * per, (k + 1) * per), (at++) * per);
    images = compact;
  }
  return {
    images, n: kept.length, channels, height: imgDim, width: imgDim, files: kept,
    source: `image folder '${path.resolve(dir)}': ${kept.length} images${bad ? ` (${bad} skipped, undecodable)` : ''}, centre-cropped and resized to ${imgDim}x${imgDim}${channels === 1 ? ', grayscale' : ', RGB'}`,
  };
}
