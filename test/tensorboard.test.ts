// TensorBoard event files: CRC32C against published vectors, the TFRecord framing and queueing
// read back here, and the files read by TensorBoard's own Python code
// (scripts/fixtures/read_tensorboard.py) — skipped, saying why, where no Python has tensorboard.
import { test } from 'uvu';
import { findTensorBoardPython } from './helpers/tensorboard-python';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { SummaryWriter } from '../lib/io/tensorboard';
import { crc32c, maskedCrc32c, tfRecord } from '../lib/io/tfrecord';
import { imageGrid } from '../lib/io/png';

const root = path.resolve(__dirname, '..');
const READER = path.join(root, 'scripts', 'fixtures', 'read_tensorboard.py');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-tensorboard-'));
let dirs = 0;
const newDir = () => path.join(dir, `run${dirs++}`);

/** The records of a TFRecord file, each CRC checked; `torn` when the last one is cut short. */
function readRecords(file: string): { records: Buffer[]; torn: boolean } {
  const b = fs.readFileSync(file);
  const records: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    if (b.length - off < 12) return { records, torn: true };
    const len = Number(b.readBigUInt64LE(off));
    assert.is(b.readUInt32LE(off + 8), maskedCrc32c(b.subarray(off, off + 8)), `length CRC of the record at ${off}`);
    if (b.length - off < 12 + len + 4) return { records, torn: true };
    const data = b.subarray(off + 12, off + 12 + len);
    assert.is(b.readUInt32LE(off + 12 + len), maskedCrc32c(data), `data CRC of the record at ${off}`);
    records.push(data);
    off += 12 + len + 4;
  }
  return { records, torn: false };
}

/** The top-level fields of a protobuf message: field number -> raw values (numbers for varints, Buffers otherwise). */
function fields(msg: Buffer): Map<number, (number | Buffer)[]> {
  const out = new Map<number, (number | Buffer)[]>();
  let i = 0;
  const varint = () => {
    let v = 0, mul = 1;
    for (;;) {
      const byte = msg[i++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < msg.length) {
    const k = varint();
    const field = Math.floor(k / 8), wire = k % 8;
    let v: number | Buffer;
    if (wire === 0) v = varint();
    else if (wire === 1) { v = msg.subarray(i, i + 8); i += 8; }
    else if (wire === 5) { v = msg.subarray(i, i + 4); i += 4; }
    else if (wire === 2) { const n = varint(); v = msg.subarray(i, i + n); i += n; }
    else throw new Error(`wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), v]);
  }
  return out;
}
const eventFiles = (d: string) => fs.readdirSync(d).filter((n) => n.startsWith('events.out.tfevents.')).map((n) => path.join(d, n));

test('CRC32C: the standard check value and the RFC 3720 (iSCSI) vectors; the TFRecord mask', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.is(crc32c(Buffer.alloc(0)), 0);
  assert.is(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.is(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.is(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.is(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  // mask = ((crc >>> 15) | (crc << 17)) + 0xa282ead8, in 32 bits
  const c = 0xe3069283;
  assert.is(maskedCrc32c(Buffer.from('123456789')), (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
  const r = tfRecord(Buffer.from('abc'));
  assert.is(r.length, 8 + 4 + 3 + 4);
  assert.is(Number(r.readBigUInt64LE(0)), 3);
  assert.is(r.subarray(12, 15).toString(), 'abc');
});

test('the event file: its name, the version record first, one Event per value with the right fields', () => {
  assert.is(tg.SummaryWriter, SummaryWriter, 'exported by the package');
  const d = newDir();
  const w = new SummaryWriter(d);
  assert.match(path.basename(w.file), new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.${process.pid}\\.\\d+$`));
  assert.equal(eventFiles(d), [w.file]);
  // the version record is on disk at once
  const first = readRecords(w.file);
  assert.is(first.records.length, 1);
  const v = fields(first.records[0]);
  assert.is((v.get(3)![0] as Buffer).toString(), 'brain.Event:2');
  assert.ok(Math.abs((v.get(1)![0] as Buffer).readDoubleLE() - Date.now() / 1000) < 60, 'wall time in seconds');
  w.addScalar('loss', 0.1, 7, 1234.5);
  w.addScalar('nan', NaN, 2 ** 40);
  w.addScalar('t', tg.tensor([2.5]), 8);
  w.close();
  const { records, torn } = readRecords(w.file);
  assert.not.ok(torn);
  assert.is(records.length, 4);
  const e = fields(records[1]);
  assert.is((e.get(1)![0] as Buffer).readDoubleLE(), 1234.5);
  assert.is(e.get(2)![0], 7);
  const value = fields(fields(e.get(5)![0] as Buffer).get(1)![0] as Buffer);
  assert.is((value.get(1)![0] as Buffer).toString(), 'loss');
  assert.is((value.get(2)![0] as Buffer).readFloatLE(), Math.fround(0.1), 'float32');
  const big = fields(records[2]);
  assert.is(big.get(2)![0], 2 ** 40, 'a step beyond 32 bits');
  assert.ok(Number.isNaN((fields(fields(big.get(5)![0] as Buffer).get(1)![0] as Buffer).get(2)![0] as Buffer).readFloatLE()), 'NaN kept');
  assert.is((fields(fields(fields(records[3]).get(5)![0] as Buffer).get(1)![0] as Buffer).get(2)![0] as Buffer).readFloatLE(), 2.5, 'a one-element Tensor');
  w.close(); // twice: a no-op
  assert.ok(w.closed);
  assert.throws(() => w.addScalar('loss', 1, 9), /SummaryWriter.addScalar\(\): this SummaryWriter is closed/);
});

test('records are queued: written every maxQueue records, on flush(), and at process exit without close()', () => {
  const d = newDir();
  const w = new SummaryWriter(d, { maxQueue: 3 });
  w.addScalar('a', 1, 1);
  w.addScalar('a', 2, 2);
  assert.is(readRecords(w.file).records.length, 1, 'two queued, only the version record written');
  w.addScalar('a', 3, 3);
  assert.is(readRecords(w.file).records.length, 4, 'the third fills the queue: written');
  w.addScalar('a', 4, 4);
  w.flush();
  assert.is(readRecords(w.file).records.length, 5);
  w.close();

  const d2 = newDir();
  const script = `const { SummaryWriter } = require(${JSON.stringify(path.join(root, 'lib', 'io', 'tensorboard.ts'))});
const w = new SummaryWriter(${JSON.stringify(d2)}, { maxQueue: 100, flushSecs: 3600 });
w.addScalar('x', 1, 1); w.addScalar('x', 2, 2);
process.exit(0);`;
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const [f] = eventFiles(d2);
  assert.is(readRecords(f).records.length, 3, 'the exit hook wrote the queue');
});

test('bad arguments are refused naming the parameter, what was expected and what came', () => {
  const w = new SummaryWriter(newDir());
  const png = imageGrid(tg.zeros([1, 3, 4, 4]), { nrow: 1, padding: 0 });
  assert.throws(() => w.addScalar('', 1, 0), /Expected a non-empty string for SummaryWriter.addScalar\(\) tag but received string ''/);
  assert.throws(() => w.addScalar(3 as unknown as string, 1, 0), /for SummaryWriter.addScalar\(\) tag but received number 3/);
  assert.throws(() => w.addScalar('a', '1' as unknown as number, 0), /Expected a number or a one-element Tensor for SummaryWriter.addScalar\(\) value but received string '1'/);
  assert.throws(() => w.addScalar('a', tg.zeros([2]), 0), /one-element Tensor for SummaryWriter.addScalar\(\) value but received a float32 Tensor of shape \[2\]/);
  assert.throws(() => w.addScalar('a', 1, -1), /Expected a non-negative integer for SummaryWriter.addScalar\(\) step but received number -1/);
  assert.throws(() => w.addScalar('a', 1, 1.5), /step but received number 1.5/);
  assert.throws(() => w.addScalar('a', 1, undefined as unknown as number), /step but received undefined/);
  assert.throws(() => w.addScalar('a', 1, 0, NaN), /seconds since the epoch .* for SummaryWriter.addScalar\(\) wallTime but received number NaN/);
  assert.throws(() => w.addImage('img', Buffer.from('not a png at all, not at all, no'), 0), /Expected PNG bytes for SummaryWriter.addImage\(\) png but received 32 bytes/);
  assert.throws(() => w.addImage('img', 'x' as unknown as Buffer, 0), /PNG bytes \(a Buffer or Uint8Array\) for SummaryWriter.addImage\(\) png but received string 'x'/);
  assert.throws(() => w.addImage('img', png, 0, { width: 5, height: 4 }), /Expected \{width: 4, height: 4\} \(the PNG's own size\) for SummaryWriter.addImage\(\) size but received \{width: 5, height: 4\}/);
  assert.throws(() => w.addScalars('m', {}, 0), /at least one entry for SummaryWriter.addScalars\(\) values/);
  assert.throws(() => w.addScalars('m', { 'a/b': 1 }, 0), /usable as a directory .* for SummaryWriter.addScalars\(\) values key but received string 'a\/b'/);
  assert.throws(() => new SummaryWriter(''), /for SummaryWriter\(\) logDir but received string ''/);
  assert.throws(() => new SummaryWriter(newDir(), { maxQueu: 3 } as unknown as object), /Unknown option 'maxQueu' for SummaryWriter\(\)/);
  assert.throws(() => new SummaryWriter(newDir(), { flushSecs: 0 }), /positive number of seconds for SummaryWriter\(\) options.flushSecs/);
  const blocker = path.join(dir, 'a-file');
  fs.writeFileSync(blocker, '');
  assert.throws(() => new SummaryWriter(path.join(blocker, 'sub')), /SummaryWriter: cannot create the event file .*a-file\/sub\/events.out.tfevents/);
  w.close();
  assert.is(readRecords(w.file).records.length, 1, 'nothing refused was written');
});

// ---- TensorBoard itself

const PY = findTensorBoardPython();
console.log(PY.py ? `tensorboard.test.ts: reading back with ${PY.why}` : `tensorboard.test.ts: the TensorBoard reader tests are skipped: ${PY.why}`);
const tbTest = PY.py ? test : test.skip;

function dump(logdir: string): any {
  const r = spawnSync(PY.py!, [READER, 'dump', logdir], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`read_tensorboard.py dump failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

tbTest("TensorBoard's readers get our scalars (tags, steps, float32 values, wall times) and images (size, colours, PNG bytes)", () => {
  const d = newDir();
  const w = new SummaryWriter(d, { maxQueue: 4 });
  const critic = [0.1, -3.5, 1e-8, 123456.789, 2 / 3];
  const steps = [0, 1, 5, 1000, 2 ** 33 + 1];
  critic.forEach((v, i) => {
    w.addScalar('loss/critic', v, steps[i], 1_700_000_000.25 + i);
    w.addScalar('loss/generator', -v, steps[i]);
  });
  tg.manualSeed(3);
  const rgb = imageGrid(tg.rand([4, 3, 6, 5]), { nrow: 2, range: [0, 1] });
  const grey = imageGrid(tg.rand([2, 1, 7, 7]), { nrow: 2, range: [0, 1] });
  w.addImage('samples', rgb, 10);
  w.addImage('samples', grey, 20, { width: 2 * 7 + 3 * 2, height: 7 + 2 * 2 });
  w.close();

  const out = dump(d);
  const [file] = Object.keys(out.files);
  assert.is(file, path.basename(w.file));
  const recs = out.files[file];
  assert.not.ok(recs.torn);
  assert.is(recs.records[0].file_version, 'brain.Event:2');
  assert.is(recs.records.length, 1 + 2 * critic.length + 2);

  const f32 = critic.map(Math.fround);
  for (const acc of [out.legacy.scalars]) {
    assert.equal(Object.keys(acc).sort(), ['loss/critic', 'loss/generator']);
    assert.equal(acc['loss/critic'].map((s: any) => s.step), steps);
    assert.equal(acc['loss/critic'].map((s: any) => s.value), f32, 'float32-equal values');
    assert.equal(acc['loss/generator'].map((s: any) => s.value), f32.map((v) => -v));
    assert.equal(acc['loss/critic'].map((s: any) => s.wall_time), critic.map((_, i) => 1_700_000_000.25 + i), 'wall times as given, in double');
  }
  // what `tensorboard --logdir` serves: the scalars plugin's tensors, the images plugin's
  assert.is(out.tensors['loss/critic'].plugin, 'scalars');
  assert.equal(out.tensors['loss/critic'].values.map((s: any) => [s.step, s.value]), steps.map((s, i) => [s, f32[i]]));
  assert.is(out.tensors.samples.plugin, 'images');

  const wantImages = [[10, rgb, 2 * 5 + 3 * 2, 2 * 6 + 3 * 2], [20, grey, 2 * 7 + 3 * 2, 7 + 2 * 2]] as const;
  const legacyImages = out.legacy.images.samples;
  const pluginImages = out.tensors.samples.values;
  wantImages.forEach(([step, png, width, height], k) => {
    for (const got of [legacyImages[k], pluginImages[k]]) {
      assert.equal([got.step, got.width, got.height], [step, width, height]);
      assert.ok(Buffer.from(got.png_b64, 'base64').equals(png), 'the PNG bytes unchanged');
    }
  });
  const imgRecs = recs.records.filter((r: any) => r.values?.[0]?.kind === 'image').map((r: any) => r.values[0].image.colorspace);
  assert.equal(imgRecs, [3, 1], 'RGB and greyscale colorspaces');
});

tbTest('addScalars: one run per key under <logDir>/<mainTag>_<key>, each with the main tag, as PyTorch', () => {
  const d = newDir();
  const w = new SummaryWriter(d);
  w.addScalars('loss', { critic: 1.5, generator: -0.5 }, 3);
  w.addScalars('loss', { critic: 1.25, generator: -0.25 }, 4);
  w.close();
  for (const [key, vals] of [['critic', [1.5, 1.25]], ['generator', [-0.5, -0.25]]] as const) {
    const sub = dump(path.join(d, `loss_${key}`));
    assert.equal(sub.legacy.scalars.loss.map((s: any) => [s.step, s.value]), [[3, vals[0]], [4, vals[1]]]);
  }
  assert.equal(dump(d).legacy.scalars, {}, 'nothing in the parent run');
});

tbTest("a torn last record (a crash mid-write) is what TensorBoard's reader stops at; a wrong CRC it refuses", () => {
  const d = newDir();
  const w = new SummaryWriter(d);
  for (let i = 0; i < 3; i++) w.addScalar('x', i, i);
  w.close();
  const whole = fs.readFileSync(w.file);
  const extra = tfRecord(Buffer.from('a record that never finished writing'));
  fs.appendFileSync(w.file, extra.subarray(0, extra.length - 7));
  const torn = dump(d);
  assert.ok(torn.files[path.basename(w.file)].torn, 'the reader saw the torn tail');
  assert.equal(torn.legacy.scalars.x.map((s: any) => s.value), [0, 1, 2], 'and kept every whole record');

  const bad = Buffer.from(whole);
  bad[bad.length - 6] ^= 0x01; // a byte of the last record's data
  fs.writeFileSync(w.file, bad);
  const r = spawnSync(PY.py!, [READER, 'dump', d], { encoding: 'utf8' });
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /failed event crc32 check/, 'the CRC is checked, so our CRCs passing means something');
});

tbTest('a training run with --log-dir: TensorBoard reads each step\'s losses, W estimate, penalty and grad norm (the loss log\'s numbers) and the sample grids', async () => {
  const { trainRun, trainFlags } = await import('../lib/cli/train-run');
  const { parseFlags } = await import('../lib/cli/args');
  const out = newDir();
  const logDir = path.join(out, 'tb');
  const flags = parseFlags(['--dset', 'toy', '--iters', '4', '--batch-size', '32', '--base-width', '8', '--noise-dim', '4', '--sample-every', '2', '--out', out, '--log-dir', logDir], trainFlags('mnist'));
  await trainRun(flags, () => {});
  const rows = fs.readFileSync(path.join(out, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const got = dump(logDir).legacy;
  const series = (tag: string) => got.scalars[tag].map((s: any) => [s.step, s.value]);
  assert.equal(series('loss/critic'), rows.map((r) => [r.iter, Math.fround(r.criticLoss)]));
  assert.equal(series('loss/generator'), rows.map((r) => [r.iter, Math.fround(r.generatorLoss)]));
  assert.equal(series('wasserstein_estimate'), rows.map((r) => [r.iter, Math.fround(r.wasserstein)]));
  assert.equal(series('penalty'), rows.map((r) => [r.iter, Math.fround(r.penalty)]));
  assert.equal(series('grad_norm'), rows.map((r) => [r.iter, Math.fround(r.gradNorm)]));
  assert.equal(got.scalars.iterations_per_second.map((s: any) => s.step), [2, 3, 4]);
  assert.ok(got.scalars.iterations_per_second.every((s: any) => s.value > 0));
  assert.equal(got.images.samples.map((i: any) => i.step), [2, 4]);
  const latest = fs.readFileSync(path.join(out, 'samples', 'step-00000004.png'));
  assert.ok(Buffer.from(got.images.samples[1].png_b64, 'base64').equals(latest), 'the grid TensorBoard shows is the one written to samples/');
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
