// Crash-safe file writes: the data goes to a temporary file in the same
// directory, is fsync-ed, then renamed over the target (rename is atomic on
// POSIX file systems within one directory) and the directory is fsync-ed so the
// rename itself survives a power cut. A reader sees either the old file or the
// new one, never a half-written file. On any error the temporary file is removed.
// The one atomic write of torch-gan (safetensors, checkpoints, PNGs, plots, JSON use it).
import * as fs from 'fs';
import * as path from 'path';
import * as crypto from 'crypto';
import { checkOptionKeys, invalidParameterError, is, TorchError } from '../errors';

/** Something to write: bytes, a string (UTF-8), or a writer that emits chunks (may throw midway). */
export type AtomicData = string | Uint8Array | ((write: (chunk: string | Uint8Array) => void) => void);

export interface AtomicWriteOptions {
  /** File mode for a new file (default 0o666 & ~umask); an existing target's mode is kept. */
  mode?: number;
  /** fsync the file and its directory (default true). false is faster and still atomic against crashes of this process, not of the machine. */
  fsync?: boolean;
}
const ATOMIC_KEYS = ['mode', 'fsync'] as const;

function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
}

/** fsyncs a folder so that renames into it survive a power cut (best effort: not every platform can). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms/file systems cannot open or fsync a directory (Windows, some network FS): best effort.
  } finally {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* ignore */ }
    }
  }
}

// A failed system call (ENOENT, ENOSPC, EACCES, ...) becomes ERR_IO naming the target, with the
// system error as the cause (its message names only the temporary file). Anything else (a
// TorchError about a chunk, the writer function's own error) passes through unchanged.
function ioError(where: string, file: string, e: unknown): unknown {
  const sys = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof sys.syscall !== 'string') return e;
  return new TorchError(`${where}('${file}'): ${sys.message}`, { code: 'ERR_IO', cause: e });
}

function checkArgs(where: string, file: unknown, data: unknown, options: unknown): void {
  if (!is.string(file) || file.length === 0) throw invalidParameterError(`${where} path`, 'a non-empty string', file);
  if (!(typeof data === 'string' || data instanceof Uint8Array || typeof data === 'function')) {
    throw invalidParameterError(`${where} data`, 'a string, a Uint8Array/Buffer or a writer function', data);
  }
  checkOptionKeys(where, options as object | undefined, ATOMIC_KEYS);
}

/**
 * Writes `data` to `file` atomically (synchronously). Either the previous content
 * or the complete new content is on disk afterwards, whatever happens midway.
 */
export function writeFileAtomic(file: string, data: AtomicData, options: AtomicWriteOptions = {}): void {
  checkArgs('writeFileAtomic()', file, data, options);
  const target = path.resolve(file);
  const doSync = options.fsync ?? true;
  let mode = options.mode;
  if (mode === undefined) {
    try { mode = fs.statSync(target).mode & 0o7777; } catch { /* new file */ }
  }
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode ?? 0o666);
    const fdNum = fd;
    const write = (chunk: string | Uint8Array): void => {
      if (typeof chunk === 'string') chunk = Buffer.from(chunk, 'utf8');
      else if (!(chunk instanceof Uint8Array)) throw invalidParameterError('writeFileAtomic() chunk', 'a string or a Uint8Array', chunk);
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fdNum, chunk, off, chunk.length - off);
    };
    if (typeof data === 'function') data(write);
    else write(data);
    if (doSync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    if (mode !== undefined) fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* ignore */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw ioError('writeFileAtomic', file, e);
  }
  if (doSync) fsyncDir(path.dirname(target));
}

/** The asynchronous form of writeFileAtomic (the event loop keeps running during I/O). */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  checkArgs('writeFileAtomicAsync()', file, data, options);
  if (typeof data === 'function') throw invalidParameterError('writeFileAtomicAsync() data', 'a string or a Uint8Array/Buffer', data);
  const target = path.resolve(file);
  const doSync = options.fsync ?? true;
  let mode = options.mode;
  if (mode === undefined) {
    try { mode = (await fs.promises.stat(target)).mode & 0o7777; } catch { /* new file */ }
  }
  const tmp = tempPathFor(target);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, 'wx', mode ?? 0o666);
    await fh.writeFile(data);
    if (doSync) await fh.sync();
    await fh.close();
    fh = undefined;
    if (mode !== undefined) await fs.promises.chmod(tmp, mode);
    await fs.promises.rename(tmp, target);
  } catch (e) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    throw ioError('writeFileAtomicAsync', file, e);
  }
  if (doSync) fsyncDir(path.dirname(target));
}

/** JSON.stringify(value, null, space) + '\n', written atomically. */
export function writeJsonAtomic(file: string, value: unknown, options: AtomicWriteOptions & { space?: number } = {}): void {
  checkOptionKeys('writeJsonAtomic()', options, [...ATOMIC_KEYS, 'space']);
  const { space, ...rest } = options;
  if (space !== undefined && !is.nonNegativeInteger(space)) throw invalidParameterError('writeJsonAtomic() options.space', 'a non-negative integer', space);
  const text = JSON.stringify(value, null, space ?? 2);
  if (text === undefined) throw invalidParameterError('writeJsonAtomic() value', 'a JSON-serialisable value', value);
  writeFileAtomic(file, text + '\n', rest);
}
