// CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html):
// data_batch_1.bin .. data_batch_5.bin (10000 records each) and test_batch.bin.
// A record is 3073 bytes: 1 label byte (0..9), then 3072 image bytes — 1024 red,
// 1024 green, 1024 blue, each 32x32 row-major — i.e. already CHW.
import * as fs from 'fs';
import * as path from 'path';
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { dataError } from './data-error';
import type { ImageDataset } from './types';

export const CIFAR10_RECORD_BYTES = 3073;
export const CIFAR10_IMAGE_BYTES = 3072;
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_FILES = ['test_batch.bin'];
export const CIFAR10_DEFAULT_DIR = 'cifar-10-batches-bin';

export interface CifarBatch {
  /** n x 3 x 32 x 32 bytes (RGB planes). */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

/** Parses one CIFAR-10 binary batch; `name` is used in error messages. */
export function parseCifar10Batch(buf: Uint8Array, name = '<buffer>'): CifarBatch {
  if (!(buf instanceof Uint8Array)) throw invalidParameterError('buffer', 'a Buffer or Uint8Array', buf);
  if (buf.length === 0 || buf.length % CIFAR10_RECORD_BYTES !== 0) {
    const whole = Math.floor(buf.length / CIFAR10_RECORD_BYTES);
    throw dataError(
      `CIFAR-10 batch '${name}': expected a length that is a positive multiple of ${CIFAR10_RECORD_BYTES} (1 label byte + 3072 pixel bytes per record) ` +
        `but received ${buf.length} bytes (${whole} whole records + ${buf.length - whole * CIFAR10_RECORD_BYTES} bytes; truncated or not a CIFAR-10 binary batch)`,
    );
  }
  const n = buf.length / CIFAR10_RECORD_BYTES;
  const images = new Uint8Array(n * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const off = i * CIFAR10_RECORD_BYTES;
    const label = buf[off];
    if (label > 9) throw dataError(`CIFAR-10 batch '${name}': expected a label in 0..9 for record ${i} (byte offset ${off}) but received ${label} (corrupt file, or CIFAR-100?)`);
    labels[i] = label;
    images.set(buf.subarray(off + 1, off + CIFAR10_RECORD_BYTES), i * CIFAR10_IMAGE_BYTES);
  }
  return { images, labels, n };
}

/** Reads one batch file, e.g. data_batch_1.bin. */
export function readCifar10Batch(file: string): CifarBatch {
  if (!is.string(file) || file.length === 0) throw invalidParameterError('file', 'a path', file);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw dataError(`CIFAR-10 batch '${file}': cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return parseCifar10Batch(buf, file);
}

/** CIFAR-10 binary batch bytes for images (n x 3072, CHW) and labels (for tests and tools). */
export function encodeCifar10Batch(images: Uint8Array, labels: Uint8Array): Buffer {
  if (!(labels instanceof Uint8Array)) throw invalidParameterError('labels', 'a Uint8Array', labels);
  if (!(images instanceof Uint8Array) || images.length !== labels.length * CIFAR10_IMAGE_BYTES) {
    throw invalidParameterError('images', `a Uint8Array of ${labels.length * CIFAR10_IMAGE_BYTES} bytes (labels.length x 3072)`, images);
  }
  const out = Buffer.alloc(labels.length * CIFAR10_RECORD_BYTES);
  for (let i = 0; i < labels.length; i++) {
    out[i * CIFAR10_RECORD_BYTES] = labels[i];
    out.set(images.subarray(i * CIFAR10_IMAGE_BYTES, (i + 1) * CIFAR10_IMAGE_BYTES), i * CIFAR10_RECORD_BYTES + 1);
  }
  return out;
}

export interface LoadCifar10Options {
  /** The folder holding the .bin files (default ./cifar-10-batches-bin; <dir>/cifar-10-batches-bin is tried too). */
  dir?: string;
  /** 'train' (data_batch_1..5, 50000 images, default) or 'test' (test_batch, 10000). */
  split?: 'train' | 'test';
  /** Keep only the first `limit` images. */
  limit?: number;
}
const CIFAR_KEYS = ['dir', 'split', 'limit'] as const;

/** Loads the CIFAR-10 binary batches of a split as one ImageDataset (3 x 32 x 32, labels 0..9). */
export function loadCifar10(options: LoadCifar10Options = {}): ImageDataset {
  checkOptionKeys('loadCifar10()', options, CIFAR_KEYS);
  const split = options.split ?? 'train';
  if (!is.oneOf(split, ['train', 'test'] as const)) throw invalidParameterError('loadCifar10() options.split', "'train' or 'test'", split);
  if (options.limit !== undefined && !is.positiveInteger(options.limit)) throw invalidParameterError('loadCifar10() options.limit', 'a positive integer', options.limit);
  const dir = options.dir ?? CIFAR10_DEFAULT_DIR;
  if (!is.string(dir)) throw invalidParameterError('loadCifar10() options.dir', 'a path', dir);
  const names = split === 'train' ? CIFAR10_TRAIN_FILES : CIFAR10_TEST_FILES;
  const candidates = [dir, path.join(dir, CIFAR10_DEFAULT_DIR)];
  const found = candidates.find((d) => names.every((f) => fs.existsSync(path.join(d, f))));
  if (!found) {
    const missing = names.filter((f) => !fs.existsSync(path.join(dir, f)));
    throw dataError(
      `loadCifar10(): CIFAR-10 ${split} batches not found. Looked in ${candidates.map((d) => `'${path.resolve(d)}'`).join(' and ')} ` +
        `for ${names.join(', ')} (missing in the first: ${missing.join(', ')}). To get them: download ` +
        `https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it (tar xzf cifar-10-binary.tar.gz), ` +
        `which makes ./cifar-10-batches-bin, or pass {dir} pointing at that folder.`,
    );
  }
  const limit = options.limit ?? Infinity;
  const batches: CifarBatch[] = [];
  let n = 0;
  for (const f of names) {
    if (n >= limit) break;
    const b = readCifar10Batch(path.join(found, f));
    batches.push(b);
    n += b.n;
  }
  n = Math.min(n, limit);
  const images = new Uint8Array(n * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(n);
  let at = 0;
  for (const b of batches) {
    const take = Math.min(b.n, n - at);
    images.set(b.images.subarray(0, take * CIFAR10_IMAGE_BYTES), at * CIFAR10_IMAGE_BYTES);
    labels.set(b.labels.subarray(0, take), at);
    at += take;
  }
  return {
    images, labels, n, channels: 3, height: 32, width: 32, classes: CIFAR10_CLASSES.slice(),
    source: `CIFAR-10 ${split} (${names.length === 1 ? names[0] : `${names[0]}..${names[names.length - 1]}`}) from ${path.resolve(found)}${n < batches.reduce((a, b) => a + b.n, 0) ? `, first ${n}` : ''}`,
  };
}
