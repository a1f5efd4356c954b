// The safetensors format (https://github.com/huggingface/safetensors):
//   8 bytes   N, the header's length, unsigned little-endian 64-bit
//   N bytes   a UTF-8 JSON object: name -> {dtype, shape, data_offsets: [begin, end]}
//             (offsets relative to the byte buffer that follows), plus an optional
//             "__metadata__" map of string -> string; padded with spaces so that
//             8 + N is a multiple of 8
//   the rest  the byte buffer: each tensor's values, C order, little-endian,
//             tensors back to back, no holes
// Files are written atomically (io/atomic). This file is the format alone (tensors <-> bytes);
// saving and loading modules and optimizers is io/state.ts.
import * as fs from 'fs';
import * as os from 'os';
import { checkOptionKeys, invalidParameterError, is, TorchError } from '../errors';
import { writeFileAtomic } from './atomic';
import { Tensor } from '../tensor/tensor';
import { tensor as makeTensor } from '../tensor/creation';
import { checkDevice, Device, DType } from '../tensor/dtype';

const TO_ST: Record<DType, string> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16',
  int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const ITEM_SIZE: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Types of the spec this library cannot hold in a tensor. */
const KNOWN_UNSUPPORTED = ['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64', 'C128'];

/** Largest header this reader accepts (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = os.endianness() === 'LE';

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}
export interface SafetensorsHeader {
  tensors: Record<string, SafetensorsEntry>;
  metadata: Record<string, string> | null;
}

// ------------------------------------------------------------------ float16

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half bits, round to nearest even (exact for values a float16 tensor holds). */
function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> 0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // may carry into the exponent: still right
  return sign | half;
}

function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ------------------------------------------------------------------ bytes

/** A tensor's values as little-endian bytes in safetensors' encoding. */
function tensorBytes(t: Tensor): Buffer {
  const dtype = t.dtype;
  const data = t.data();
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const src = data as Float32Array;
    const out = Buffer.allocUnsafe(src.length * 2);
    if (dtype === 'float16') for (let i = 0; i < src.length; i++) out.writeUInt16LE(toHalfBits(src[i]), i * 2);
    else {
      const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
      // the values came from bfloat16, so the low 16 bits are zero: truncation is exact
      for (let i = 0; i < src.length; i++) out.writeUInt16LE(bits[i] >>> 16, i * 2);
    }
    return out;
  }
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!LITTLE_ENDIAN) swapInPlace(buf, ITEM_SIZE[TO_ST[dtype]]);
  return buf;
}

function swapInPlace(buf: Buffer, size: number): void {
  if (size === 2) buf.swap16();
  else if (size === 4) buf.swap32();
  else if (size === 8) buf.swap64();
}

/** Builds a tensor from its little-endian bytes. */
function bytesToTensor(bytes: Buffer, st: string, shape: number[], device: Device | undefined): Tensor {
  const dtype = FROM_ST[st];
  const n = shape.reduce((a, b) => a * b, 1);
  const size = ITEM_SIZE[st];
  // copy into a fresh, aligned buffer
  const ab = new ArrayBuffer(n * size);
  const own = Buffer.from(ab);
  bytes.copy(own, 0, 0, n * size);
  if (!LITTLE_ENDIAN && size > 1) swapInPlace(own, size);
  let arr: Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;
  switch (st) {
    case 'F32': arr = new Float32Array(ab); break;
    case 'F64': arr = new Float64Array(ab); break;
    case 'I64': arr = new BigInt64Array(ab); break;
    case 'I32': arr = new Int32Array(ab); break;
    case 'I16': arr = new Int16Array(ab); break;
    case 'I8': arr = new Int8Array(ab); break;
    case 'U8': case 'BOOL': arr = new Uint8Array(ab); break;
    case 'F16': {
      const h = new Uint16Array(ab);
      arr = new Float32Array(n);
      for (let i = 0; i < n; i++) arr[i] = fromHalfBits(h[i]);
      break;
    }
    case 'BF16': {
      const h = new Uint16Array(ab);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
      arr = new Float32Array(bits.buffer);
      break;
    }
    default: throw new TorchError(`unsupported dtype ${st}`, { code: 'ERR_SAFETENSORS' }); // parseHeader refused it already
  }
  return makeTensor(arr, shape, { dtype, device });
}

// ------------------------------------------------------------------ save

/**
 * Saves tensors (a record or Map of name -> Tensor) to `file` in the
 * safetensors format, with optional string metadata (`__metadata__`). Tensors
 * are read back from any device; values are stored C-contiguous, little-endian.
 * The file is replaced atomically.
 */
export function saveSafetensors(file: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string>): void {
  if (!is.string(file) || file.length === 0) throw invalidParameterError('path', 'a file path', file);
  let entries: [string, Tensor][];
  if (tensors instanceof Map) entries = [...tensors.entries()];
  else if (is.plainObject(tensors)) entries = Object.entries(tensors);
  else throw invalidParameterError('tensors', 'a record or Map of name -> Tensor', tensors);
  if (metadata !== undefined) {
    if (!is.plainObject(metadata)) throw invalidParameterError('metadata', 'a record of string -> string', metadata);
    for (const [k, v] of Object.entries(metadata)) if (!is.string(v)) throw invalidParameterError(`metadata['${k}']`, 'a string', v);
  }
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw invalidParameterError('tensor name', 'a name other than __metadata__', name);
    if (!(t instanceof Tensor)) throw invalidParameterError(`tensors['${name}']`, 'a Tensor', t);
    if (t.isDisposed) {
      throw new TorchError(`saveSafetensors(): tensors['${name}'] has been disposed`, { code: 'ERR_TENSOR_DISPOSED', parameter: `tensors['${name}']`, expected: 'a live Tensor', received: 'a disposed Tensor' });
    }
    const bytes = tensorBytes(t);
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileAtomic(file, (write) => {
    for (const c of [len, json, ...chunks]) write(c);
  });
}

// ------------------------------------------------------------------ load

/** A malformed safetensors file (ERR_SAFETENSORS), naming the file and the problem. */
export function safetensorsError(file: string, problem: string): TorchError {
  return new TorchError(`Invalid safetensors file ${file}: ${problem}`, { code: 'ERR_SAFETENSORS' });
}

function parseHeader(file: string, fd: number, fileSize: number): { header: SafetensorsHeader; dataStart: number } {
  const bad = (problem: string) => safetensorsError(file, problem);
  if (fileSize < 8) throw bad(`the file is ${fileSize} bytes long, shorter than the 8-byte header length (truncated?)`);
  const lenBuf = Buffer.alloc(8);
  fs.readSync(fd, lenBuf, 0, 8, 0);
  const n64 = lenBuf.readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER)) throw bad(`the header length ${n64} is larger than ${MAX_HEADER} bytes (not a safetensors file?)`);
  const n = Number(n64);
  if (8 + n > fileSize) throw bad(`the header claims ${n} bytes but the file has only ${fileSize - 8} after the length (truncated?)`);
  const hb = Buffer.alloc(n);
  if (n > 0) fs.readSync(fd, hb, 0, n, 8);
  let raw: unknown;
  const text = hb.toString('utf8');
  if (!text.startsWith('{')) throw bad("the header is not a JSON object (it must start with '{')");
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (!is.plainObject(raw)) throw bad('the header is not a JSON object');
  let metadata: Record<string, string> | null = null;
  const tensors: Record<string, SafetensorsEntry> = {};
  for (const [name, v] of Object.entries(raw)) {
    if (name === '__metadata__') {
      if (!is.plainObject(v) || !Object.values(v).every((s) => typeof s === 'string')) throw bad('__metadata__ must map strings to strings');
      metadata = v as Record<string, string>;
      continue;
    }
    if (!is.plainObject(v)) throw bad(`the entry for '${name}' is not an object`);
    const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
    if (!is.string(dtype)) throw bad(`'${name}' has no dtype`);
    if (!(dtype in ITEM_SIZE)) {
      throw bad(KNOWN_UNSUPPORTED.includes(dtype) ? `'${name}' has dtype ${dtype}, which this library does not support` : `'${name}' has an unknown dtype '${dtype}'`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => is.nonNegativeInteger(d))) throw bad(`'${name}' has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => is.nonNegativeInteger(d)) || off[0] > off[1]) {
      throw bad(`'${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = numel * ITEM_SIZE[dtype];
    if (off[1] - off[0] !== want) {
      throw bad(`'${name}' (${dtype}, shape [${(shape as number[]).join(', ')}]) needs ${want} bytes but data_offsets [${off[0]}, ${off[1]}] span ${off[1] - off[0]}`);
    }
    tensors[name] = { dtype, shape: shape as number[], data_offsets: [off[0], off[1]] };
  }
  const dataStart = 8 + n;
  const dataLen = fileSize - dataStart;
  // the tensors must tile the byte buffer exactly: no holes, no overlaps, nothing after
  const sorted = Object.entries(tensors).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let pos = 0;
  for (const [name, e] of sorted) {
    const [b, end] = e.data_offsets;
    if (b !== pos) {
      throw bad(b > pos ? `a hole in the byte buffer before '${name}' (bytes ${pos}..${b} belong to no tensor)` : `'${name}' overlaps the previous tensor (it starts at ${b}, before ${pos})`);
    }
    pos = end;
  }
  if (pos > dataLen) throw bad(`the tensors need ${pos} bytes of data but the file holds ${dataLen} after the header (truncated?)`);
  if (pos < dataLen) throw bad(`the file has ${dataLen - pos} bytes after the last tensor's data`);
  return { header: { tensors, metadata }, dataStart };
}

/** Reads only the header: each tensor's dtype, shape and offsets, and the metadata. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  if (!is.string(file) || file.length === 0) throw invalidParameterError('path', 'a file path', file);
  const fd = fs.openSync(file, 'r');
  try {
    return parseHeader(file, fd, fs.fstatSync(fd).size).header;
  } finally {
    fs.closeSync(fd);
  }
}

export interface LoadSafetensorsOptions {
  /** where to put the tensors (default 'cpu') */
  device?: Device;
}

/**
 * Loads every tensor of a safetensors file: name -> Tensor, in file order.
 * A truncated or malformed file throws an error naming the file and the problem.
 * Use readSafetensorsHeader() for the metadata.
 */
export function loadSafetensors(file: string, options: LoadSafetensorsOptions = {}): Record<string, Tensor> {
  if (!is.string(file) || file.length === 0) throw invalidParameterError('path', 'a file path', file);
  checkOptionKeys('loadSafetensors()', options, ['device']);
  if (options.device !== undefined) checkDevice('options.device', options.device);
  const fd = fs.openSync(file, 'r');
  const out: Record<string, Tensor> = {};
  try {
    const size = fs.fstatSync(fd).size;
    const { header, dataStart } = parseHeader(file, fd, size);
    const data = Buffer.alloc(size - dataStart);
    let off = 0;
    while (off < data.length) {
      const r = fs.readSync(fd, data, off, data.length - off, dataStart + off);
      if (r === 0) throw safetensorsError(file, 'the file ended early while reading (modified during the read?)');
      off += r;
    }
    for (const [name, e] of Object.entries(header.tensors)) {
      out[name] = bytesToTensor(data.subarray(e.data_offsets[0], e.data_offsets[1]), e.dtype, e.shape, options.device);
    }
    return out;
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}
