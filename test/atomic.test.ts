import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { writeFileAtomic, writeFileAtomicAsync, writeJsonAtomic } from '../lib/io/atomic';
import { isTorchError, torchError, torchErrorAsync } from './helpers/errors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-atomic-'));
const temps = () => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

test('writes bytes and strings; overwrites; leaves no temporary file', () => {
  const p = path.join(dir, 'a.bin');
  writeFileAtomic(p, Buffer.from([1, 2, 3]));
  assert.equal([...fs.readFileSync(p)], [1, 2, 3]);
  writeFileAtomic(p, 'héllo');
  assert.is(fs.readFileSync(p, 'utf8'), 'héllo');
  writeFileAtomic(p, (write) => {
    write('ab');
    write(new Uint8Array([99]));
  });
  assert.is(fs.readFileSync(p, 'utf8'), 'abc');
  assert.equal(temps(), []);
});

test('a writer that throws midway leaves the previous file intact and removes the temporary file', () => {
  const p = path.join(dir, 'ckpt.json');
  writeJsonAtomic(p, { step: 1 });
  assert.throws(
    () =>
      writeFileAtomic(p, (write) => {
        write('{"step": 2, "weights": [');
        write('1, 2, 3');
        throw new Error('disk full (simulated)');
      }),
    /disk full/,
  );
  assert.equal(JSON.parse(fs.readFileSync(p, 'utf8')), { step: 1 });
  assert.equal(temps(), []);
});

test('a process killed (SIGKILL) in the middle of a write leaves the previous file intact', () => {
  const p = path.join(dir, 'model.bin');
  const old = Buffer.alloc(1 << 20, 7);
  writeFileAtomic(p, old);
  const script = path.join(dir, 'child.ts');
  fs.writeFileSync(
    script,
    `import { writeFileAtomic } from ${JSON.stringify(path.resolve(__dirname, '../lib/io/atomic'))};\n` +
      `writeFileAtomic(${JSON.stringify(p)}, (write) => {\n` +
      `  write(Buffer.alloc(1 << 19, 9));\n` +
      `  process.kill(process.pid, 'SIGKILL');\n` +
      `  write(Buffer.alloc(1 << 19, 9));\n` +
      `});\n`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8', timeout: 20000 });
  assert.is(r.signal, 'SIGKILL', `child should be killed midway (status ${r.status}, stderr ${r.stderr})`);
  const now = fs.readFileSync(p);
  assert.is(now.length, old.length);
  assert.ok(now.equals(old), 'the previous content is intact');
  // the half-written temporary file is the only trace, next to (not instead of) the target
  const left = temps();
  assert.is(left.length, 1);
  assert.match(left[0], /^\.model\.bin\.\d+\.[0-9a-f]+\.tmp$/);
  assert.is(fs.statSync(path.join(dir, left[0])).size, 1 << 19);
  fs.unlinkSync(path.join(dir, left[0]));
});

test('writeJsonAtomic writes JSON with a newline; an existing mode is kept', () => {
  const p = path.join(dir, 'cfg.json');
  fs.writeFileSync(p, '{}');
  fs.chmodSync(p, 0o640);
  writeJsonAtomic(p, { lr: 2e-4, betas: [0.5, 0.999] }, { space: 0 });
  assert.is(fs.readFileSync(p, 'utf8'), '{"lr":0.0002,"betas":[0.5,0.999]}\n');
  assert.is(fs.statSync(p).mode & 0o777, 0o640);
});

test('async form writes atomically too', async () => {
  const p = path.join(dir, 'async.txt');
  await writeFileAtomicAsync(p, 'one');
  await writeFileAtomicAsync(p, Buffer.from('two'));
  assert.is(fs.readFileSync(p, 'utf8'), 'two');
  assert.equal(temps(), []);
});

test('errors name the file; bad arguments name the parameter', async () => {
  const p = path.join(dir, 'no-such-dir', 'x.bin');
  // a failed system call: ERR_IO naming the target, the system error (naming the temporary) as the cause
  const sync = torchError(() => writeFileAtomic(p, 'x'));
  assert.is(sync.code, 'ERR_IO');
  assert.ok(sync.message.includes(p) && sync.message.includes('ENOENT'), sync.message);
  assert.is((sync.cause as NodeJS.ErrnoException).code, 'ENOENT');
  const async = await torchErrorAsync(() => writeFileAtomicAsync(p, 'x'));
  assert.is(async.code, 'ERR_IO');
  assert.match(async.message, p);
  // the writer's own error passes through unchanged
  const mine = new Error('mine');
  assert.throws(() => writeFileAtomic(path.join(dir, 'w'), () => { throw mine; }), (e: unknown) => e === mine);
  assert.throws(() => writeFileAtomic('', 'x'), isTorchError('ERR_INVALID_ARG', /path/));
  assert.throws(() => writeFileAtomic(path.join(dir, 'y'), 42 as unknown as string), /data/);
  assert.throws(() => writeJsonAtomic(path.join(dir, 'z'), undefined), /JSON-serialisable/);
  assert.throws(() => writeFileAtomic(path.join(dir, 'y'), 'x', { fsynk: false } as object), /Unknown option 'fsynk'/);
  assert.equal(temps(), []);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
