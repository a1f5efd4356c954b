// TensorBoard event files, as torch.utils.tensorboard's SummaryWriter writes them: scalars (loss
// curves) and images (sample grids) that `tensorboard --logdir DIR` shows while a run trains.
//
// The file: events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> in the log dir, a TFRecord
// stream (./tfrecord.ts) of serialized `Event` protobufs, the first holding only the file
// version. The few protobuf messages needed are encoded by hand below (varints and
// length-delimited fields), the field numbers those of tensorboard/compat/proto/event.proto and
// summary.proto:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; Image image = 4; }
//   Image   { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
//
// Records are queued and appended to the file in one write per flush (every `maxQueue` records,
// every `flushSecs` seconds, on flush()/close() and at process exit): a crash loses at most the
// queued tail, and a write cut short leaves a torn last record, which TensorBoard's reader stops at.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tensor } from '../tensor';
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { tfRecord } from './tfrecord';

// ---- protobuf, the part an Event needs

// wire types
const VARINT = 0, FIXED64 = 1, BYTES = 2, FIXED32 = 5;

/** A varint of a non-negative integer up to 2^53 (arithmetic, not bit operations: those stop at 32 bits). */
function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
const key = (field: number, wire: number): Buffer => varint(field * 8 + wire);
const varintField = (field: number, n: number): Buffer => Buffer.concat([key(field, VARINT), varint(n)]);
const bytesField = (field: number, data: Uint8Array): Buffer => Buffer.concat([key(field, BYTES), varint(data.length), data]);
const stringField = (field: number, s: string): Buffer => bytesField(field, Buffer.from(s, 'utf8'));
function doubleField(field: number, v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleLE(v);
  return Buffer.concat([key(field, FIXED64), b]);
}
function floatField(field: number, v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeFloatLE(v);
  return Buffer.concat([key(field, FIXED32), b]);
}

interface ImageProto { height: number; width: number; colorspace: number; encoded: Uint8Array }
type ValueProto = { tag: string; simpleValue: number } | { tag: string; image: ImageProto };

function encodeValue(v: ValueProto): Buffer {
  const parts = [stringField(1, v.tag)];
  if ('simpleValue' in v) parts.push(floatField(2, v.simpleValue));
  else {
    const img = Buffer.concat([varintField(1, v.image.height), varintField(2, v.image.width), varintField(3, v.image.colorspace), bytesField(4, v.image.encoded)]);
    parts.push(bytesField(4, img));
  }
  return Buffer.concat(parts);
}

/** A serialized Event: wall time, step and either the file version or a summary of values. */
function encodeEvent(e: { wallTime: number; step: number; fileVersion?: string; values?: ValueProto[] }): Buffer {
  const parts = [doubleField(1, e.wallTime)];
  // proto3 leaves a default (0) field out; readers fill it in
  if (e.step !== 0) parts.push(varintField(2, e.step));
  if (e.fileVersion !== undefined) parts.push(stringField(3, e.fileVersion));
  if (e.values) parts.push(bytesField(5, Buffer.concat(e.values.map((v) => bytesField(1, encodeValue(v))))));
  return Buffer.concat(parts);
}

// ---- the writer

export interface SummaryWriterOptions {
  /** Records queued before they are written (default 10), as PyTorch's max_queue. */
  maxQueue?: number;
  /** Seconds between writes of a queue that is not full (default 10: a live TensorBoard stays current; PyTorch's is 120). */
  flushSecs?: number;
  /** Appended to the file name, as PyTorch's filename_suffix (default ''). */
  filenameSuffix?: string;
}
const WRITER_KEYS = ['maxQueue', 'flushSecs', 'filenameSuffix'] as const;

export interface SummaryImageSize {
  width: number;
  height: number;
}

/** The n of the file name: distinct files for writers opened in the same second by one process, as PyTorch's global uid. */
let fileCounter = 0;
/** Writers not yet closed: flushed at process exit, so a run that never calls close() loses nothing queued. */
const open = new Set<SummaryWriter>();
let exitHookInstalled = false;
function flushAllAtExit(): void {
  for (const w of open) {
    try {
      w.flush();
    } catch {
      // exiting: nothing to report to
    }
  }
}

// PNG colour type -> TensorBoard's colorspace (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA); a palette counts as RGB.
const COLORSPACE: Record<number, number> = { 0: 1, 4: 2, 2: 3, 6: 4, 3: 3 };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width, height and colorspace from a PNG's IHDR chunk (the first, by the PNG spec). */
function pngHeader(name: string, png: unknown): { width: number; height: number; colorspace: number } {
  if (!(png instanceof Uint8Array)) throw invalidParameterError(name, 'PNG bytes (a Buffer or Uint8Array)', png);
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.length < 33 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString('latin1', 12, 16) !== 'IHDR') {
    throw new TypeError(`Expected PNG bytes for ${name} but received ${b.length} bytes that do not start with a PNG signature and IHDR chunk`);
  }
  const colorType = b[25];
  if (!(colorType in COLORSPACE)) throw new TypeError(`Expected a PNG of colour type 0, 2, 3, 4 or 6 for ${name} but received colour type ${colorType}`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), colorspace: COLORSPACE[colorType] };
}

/**
 * Writes TensorBoard event files, as PyTorch's torch.utils.tensorboard.SummaryWriter:
 *
 *   const w = new SummaryWriter('runs/wgan-gp');
 *   w.addScalar('loss/critic', stats.criticLoss, step);
 *   w.addImage('samples', imageGrid(fake), step);
 *   w.close();
 *
 * then `tensorboard --logdir runs`. Synchronous and cheap per call (records are queued), so a
 * training observer can call it every step.
 */
export class SummaryWriter {
  readonly logDir: string;
  /** The event file this writer appends to. */
  readonly file: string;
  private readonly maxQueue: number;
  private readonly options: SummaryWriterOptions;
  private fd: number | null;
  private queue: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly children = new Map<string, SummaryWriter>();

  constructor(logDir: string, options: SummaryWriterOptions = {}) {
    if (typeof logDir !== 'string' || logDir === '') throw invalidParameterError('SummaryWriter() logDir', 'a directory path (a non-empty string)', logDir);
    checkOptionKeys('SummaryWriter()', options, WRITER_KEYS);
    const maxQueue = options.maxQueue ?? 10;
    if (!is.positiveInteger(maxQueue)) throw invalidParameterError('SummaryWriter() options.maxQueue', 'a positive integer', maxQueue);
    const flushSecs = options.flushSecs ?? 10;
    if (!is.finite(flushSecs) || flushSecs <= 0) throw invalidParameterError('SummaryWriter() options.flushSecs', 'a positive number of seconds', flushSecs);
    const suffix = options.filenameSuffix ?? '';
    if (typeof suffix !== 'string' || /[/\\\0]/.test(suffix)) throw invalidParameterError('SummaryWriter() options.filenameSuffix', 'a string without path separators', suffix);
    this.options = { maxQueue, flushSecs, filenameSuffix: suffix };
    this.maxQueue = maxQueue;
    this.logDir = path.resolve(logDir);
    const now = Date.now() / 1000;
    const name = `events.out.tfevents.${String(Math.floor(now)).padStart(10, '0')}.${os.hostname()}.${process.pid}.${fileCounter++}${suffix}`;
    this.file = path.join(this.logDir, name);
    try {
      fs.mkdirSync(this.logDir, { recursive: true });
      // 'ax': append-only, and never into someone else's file of the same name
      this.fd = fs.openSync(this.file, 'ax');
    } catch (e) {
      throw new Error(`SummaryWriter: cannot create the event file ${this.file}: ${(e as Error).message}`, { cause: e });
    }
    // the version record first, written at once: TensorBoard lists the run before its first value
    this.queue.push(tfRecord(encodeEvent({ wallTime: now, step: 0, fileVersion: 'brain.Event:2' })));
    try {
      this.flush();
    } catch (e) {
      fs.closeSync(this.fd);
      this.fd = null;
      throw e;
    }
    // unref: a quiet writer does not keep the process alive
    this.timer = setInterval(() => this.flushQuietly(), flushSecs * 1000);
    this.timer.unref();
    open.add(this);
    if (!exitHookInstalled) {
      process.on('exit', flushAllAtExit);
      exitHookInstalled = true;
    }
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.fd === null;
  }

  /**
   * One scalar: `value` (a number, or a one-element Tensor) at `step`, stored as float32 as
   * TensorBoard does. NaN and infinities are kept (TensorBoard shows a diverged loss as such).
   * `wallTime` in seconds since the epoch (default now).
   */
  addScalar(tag: string, value: number | Tensor, step: number, wallTime?: number): void {
    const where = 'SummaryWriter.addScalar()';
    this.checkTag(where, tag);
    let v: unknown = value;
    if (value instanceof Tensor) {
      if (value.isDisposed || value.numel() !== 1) throw invalidParameterError(`${where} value`, 'a number or a one-element Tensor', value);
      v = value.item();
    }
    if (typeof v !== 'number') throw invalidParameterError(`${where} value`, 'a number or a one-element Tensor', value);
    this.append(where, step, wallTime, [{ tag, simpleValue: v }]);
  }

  /**
   * Several scalars on one chart, as PyTorch's add_scalars: each key goes to its own run
   * `<logDir>/<mainTag>_<key>` under the tag `mainTag`, so TensorBoard overlays them.
   */
  addScalars(mainTag: string, values: Record<string, number | Tensor>, step: number, wallTime?: number): void {
    const where = 'SummaryWriter.addScalars()';
    this.checkTag(where, mainTag, 'mainTag');
    if (!is.plainObject(values) || Object.keys(values).length === 0) throw invalidParameterError(`${where} values`, 'an object {name: number} with at least one entry', values);
    this.checkOpen(where);
    for (const [k, v] of Object.entries(values)) {
      if (k === '' || /[/\\\0]/.test(k) || k === '.' || k === '..') throw invalidParameterError(`${where} values key`, 'a name usable as a directory (no / or \\)', k);
      const dir = path.join(this.logDir, `${mainTag.replace(/\//g, '_')}_${k}`);
      let child = this.children.get(dir);
      if (!child) {
        child = new SummaryWriter(dir, this.options);
        this.children.set(dir, child);
      }
      child.addScalar(mainTag, v, step, wallTime);
    }
  }

  /**
   * An image: PNG bytes (e.g. imageGrid(samples)) at `step`, stored as the encoded PNG. Its
   * size and colours are read from the PNG; `size`, when given, must agree with it.
   */
  addImage(tag: string, png: Uint8Array, step: number, size?: SummaryImageSize, wallTime?: number): void {
    const where = 'SummaryWriter.addImage()';
    this.checkTag(where, tag);
    const h = pngHeader(`${where} png`, png);
    if (size !== undefined) {
      if (!is.plainObject(size) || !is.positiveInteger(size.width) || !is.positiveInteger(size.height)) {
        throw invalidParameterError(`${where} size`, '{width, height} in pixels', size);
      }
      if (size.width !== h.width || size.height !== h.height) {
        throw new TypeError(`Expected {width: ${h.width}, height: ${h.height}} (the PNG's own size) for ${where} size but received {width: ${size.width}, height: ${size.height}}`);
      }
    }
    this.append(where, step, wallTime, [{ tag, image: { ...h, encoded: png } }]);
  }

  /** Appends the queued records to the file now. */
  flush(): void {
    if (this.fd !== null && this.queue.length > 0) {
      const bytes = this.queue.length === 1 ? this.queue[0] : Buffer.concat(this.queue);
      this.queue = [];
      let off = 0;
      try {
        while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (e) {
        // keep what did not reach the file, so a later flush continues the byte stream where it broke
        this.queue = [bytes.subarray(off)];
        throw new Error(`SummaryWriter: cannot append to ${this.file}: ${(e as Error).message}`, { cause: e });
      }
    }
    for (const c of this.children.values()) c.flush();
  }

  /** Flushes, syncs the file to disk and closes it (and the runs of addScalars). Later adds throw; closing twice is a no-op. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = null;
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      open.delete(this);
      for (const c of this.children.values()) c.close();
    }
  }

  private flushQuietly(): void {
    try {
      this.flush();
    } catch (e) {
      // a timer has no caller to throw to: warn, keep the records queued, and let the next add or flush() throw
      process.emitWarning((e as Error).message, { code: 'TORCH_GAN_TENSORBOARD_WRITE' });
    }
  }

  private checkOpen(where: string): void {
    if (this.fd === null) throw new Error(`${where}: this SummaryWriter is closed (${this.file})`);
  }

  private checkTag(where: string, tag: unknown, name = 'tag'): void {
    if (typeof tag !== 'string' || tag === '') throw invalidParameterError(`${where} ${name}`, 'a non-empty string', tag);
  }

  private append(where: string, step: unknown, wallTime: unknown, values: ValueProto[]): void {
    this.checkOpen(where);
    // int64 in the file; negatives would be valid protobuf but are never a training step
    if (!Number.isSafeInteger(step) || (step as number) < 0) throw invalidParameterError(`${where} step`, 'a non-negative integer', step);
    const t = wallTime ?? Date.now() / 1000;
    if (!is.finite(t) || t < 0) throw invalidParameterError(`${where} wallTime`, 'seconds since the epoch (a finite number >= 0)', wallTime);
    this.queue.push(tfRecord(encodeEvent({ wallTime: t, step: step as number, values })));
    if (this.queue.length >= this.maxQueue) this.flush();
  }
}
