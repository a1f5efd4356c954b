// The IDX format of MNIST / Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
// a big-endian header — magic 0x0000 TT DD (TT = 0x08 unsigned byte data,
// DD = number of dimensions), then DD uint32 sizes — then the data.
// Images: magic 0x00000803, dims n, rows, cols. Labels: magic 0x00000801, dim n.
// Files may be raw or gzip-compressed (detected from the content).
import * as fs from 'fs';
import * as zlib from 'zlib';
import { invalidParameterError, is } from '../errors';
import { dataError } from './data-error';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

export interface IdxImages {
  /** n * rows * cols bytes, image-major, row-major (0 = background). */
  images: Uint8Array;
  n: number;
  rows: number;
  cols: number;
}

export interface IdxLabels {
  labels: Uint8Array;
  n: number;
}

const TYPE_NAMES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };
const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

function describeMagic(m: number): string {
  if (m >>> 16 !== 0) return `${hex(m)} (not an IDX file)`;
  const type = (m >>> 8) & 0xff;
  const dims = m & 0xff;
  const what = m === IDX_IMAGES_MAGIC ? ', an images file' : m === IDX_LABELS_MAGIC ? ', a labels file' : '';
  return `${hex(m)} (${TYPE_NAMES[type] ?? `unknown type 0x${type.toString(16)}`} data, ${dims} dimension${dims === 1 ? '' : 's'}${what})`;
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Decompresses gzip content (detected by its magic bytes); raw content is returned as is. */
export function maybeGunzip(buf: Uint8Array, name: string): Uint8Array {
  if (!isGzip(buf)) {
    if (name.endsWith('.gz')) throw dataError(`IDX file '${name}': the name ends in .gz but the content is not gzip data (first bytes ${hex(readU32(buf, 0))})`);
    return buf;
  }
  try {
    return zlib.gunzipSync(buf);
  } catch (e) {
    throw dataError(`IDX file '${name}': the gzip data is corrupt or truncated (${(e as Error).message}); ${buf.length} compressed bytes`, { cause: e });
  }
}

function readU32(b: Uint8Array, off: number): number {
  if (b.length < off + 4) return 0;
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** Parses the header and checks the magic number, dimensions and exact length; returns the sizes. */
function parseHeader(buf: Uint8Array, name: string, magic: number, kind: string, dimNames: string[]): number[] {
  const ndim = dimNames.length;
  const header = 4 + 4 * ndim;
  if (buf.length < 4) throw dataError(`IDX ${kind} file '${name}': expected at least a ${header}-byte header but received ${buf.length} bytes (empty or truncated file)`);
  const m = readU32(buf, 0);
  if (m !== magic) throw dataError(`IDX ${kind} file '${name}': expected magic number ${describeMagic(magic)} but received ${describeMagic(m)}`);
  if (buf.length < header) throw dataError(`IDX ${kind} file '${name}': expected a ${header}-byte header but received ${buf.length} bytes (truncated file)`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(readU32(buf, 4 + 4 * i));
  for (let i = 1; i < ndim; i++) {
    if (dims[i] === 0) throw dataError(`IDX ${kind} file '${name}': expected a positive ${dimNames[i]} but received 0`);
  }
  const payload = dims.reduce((a, b) => a * b, 1);
  const expected = header + payload;
  if (buf.length !== expected) {
    const sizes = dims.map((d, i) => `${d} ${dimNames[i]}`).join(' x ');
    const why = buf.length < expected ? `truncated: ${expected - buf.length} bytes missing` : `${buf.length - expected} unexpected trailing bytes`;
    throw dataError(`IDX ${kind} file '${name}': expected ${expected} bytes (${header}-byte header + ${sizes}) but received ${buf.length} bytes (${why})`);
  }
  return dims;
}

/** Parses IDX image bytes (raw or gzip). `name` is used in error messages. */
export function parseIdxImages(buffer: Uint8Array, name = '<buffer>'): IdxImages {
  if (!(buffer instanceof Uint8Array)) throw invalidParameterError('buffer', 'a Buffer or Uint8Array', buffer);
  const buf = maybeGunzip(buffer, name);
  const [n, rows, cols] = parseHeader(buf, name, IDX_IMAGES_MAGIC, 'images', ['images', 'rows', 'columns']);
  // A copy: an own, aligned buffer (the decompressed/read buffer can then be freed).
  return { images: new Uint8Array(buf.subarray(16, 16 + n * rows * cols)), n, rows, cols };
}

/** Parses IDX label bytes (raw or gzip). `name` is used in error messages. */
export function parseIdxLabels(buffer: Uint8Array, name = '<buffer>'): IdxLabels {
  if (!(buffer instanceof Uint8Array)) throw invalidParameterError('buffer', 'a Buffer or Uint8Array', buffer);
  const buf = maybeGunzip(buffer, name);
  const [n] = parseHeader(buf, name, IDX_LABELS_MAGIC, 'labels', ['labels']);
  return { labels: new Uint8Array(buf.subarray(8, 8 + n)), n };
}

function readFile(file: string, kind: string): Buffer {
  if (!is.string(file) || file.length === 0) throw invalidParameterError(`${kind} file`, 'a path', file);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw dataError(`IDX ${kind} file '${file}': cannot read it (${code ?? (e as Error).message})`, { cause: e });
  }
}

/** Reads an IDX images file (e.g. train-images-idx3-ubyte or .gz). */
export function readIdxImages(file: string): IdxImages {
  return parseIdxImages(readFile(file, 'images'), file);
}

/** Reads an IDX labels file (e.g. train-labels-idx1-ubyte or .gz). */
export function readIdxLabels(file: string): IdxLabels {
  return parseIdxLabels(readFile(file, 'labels'), file);
}

/** IDX bytes for n images of rows x cols unsigned bytes (uncompressed; gzip with zlib.gzipSync if wanted). */
export function encodeIdxImages(images: Uint8Array, n: number, rows: number, cols: number): Buffer {
  if (!(images instanceof Uint8Array)) throw invalidParameterError('images', 'a Uint8Array', images);
  for (const [k, v] of Object.entries({ n, rows, cols })) if (!is.nonNegativeInteger(v)) throw invalidParameterError(k, 'a non-negative integer', v);
  if (images.length !== n * rows * cols) throw invalidParameterError('images', `${n * rows * cols} bytes (n x rows x cols)`, images);
  const out = Buffer.alloc(16 + images.length);
  out.writeUInt32BE(IDX_IMAGES_MAGIC, 0);
  out.writeUInt32BE(n, 4);
  out.writeUInt32BE(rows, 8);
  out.writeUInt32BE(cols, 12);
  out.set(images, 16);
  return out;
}

/** IDX bytes for labels (uncompressed). */
export function encodeIdxLabels(labels: Uint8Array): Buffer {
  if (!(labels instanceof Uint8Array)) throw invalidParameterError('labels', 'a Uint8Array', labels);
  const out = Buffer.alloc(8 + labels.length);
  out.writeUInt32BE(IDX_LABELS_MAGIC, 0);
  out.writeUInt32BE(labels.length, 4);
  out.set(labels, 8);
  return out;
}
