// safetensors: round trips, the byte layout of the spec, clear errors for broken
// files, module save/load, and an independent reader (scripts/fixtures/read_safetensors.py,
// run by Debian's /usr/bin/python3 with PyTorch) loading our files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { modelA } from './helpers/models';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { testUnless } from './helpers/skip';

const { nn } = tg;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-safetensors-'));
const file = (name: string) => path.join(dir, name);
const PY = '/usr/bin/python3';
const READER = path.join(__dirname, '..', 'scripts', 'fixtures', 'read_safetensors.py');

function allDtypes(): Record<string, Tensor> {
  return {
    f32: tg.tensor([[1.5, -2.25, 3], [4, 5, 6e-8]]),
    f64: tg.tensor([Math.PI, -1e300, 5e-324], { dtype: 'float64' }),
    f16: tg.tensor([1, -0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, 0.1], { dtype: 'float16' }),
    bf16: tg.tensor([1, -3.140625, 1e30, 0.1], { dtype: 'bfloat16' }),
    i64: tg.tensor(BigInt64Array.from([1n, -2n, 9007199254740993n])),
    i32: tg.tensor(Int32Array.from([-2147483648, 7]), [2, 1]),
    i16: tg.tensor(Int16Array.from([-32768, 32767])),
    i8: tg.tensor(Int8Array.from([-128, 127, 0])),
    u8: tg.tensor(Uint8Array.from([0, 255, 17])),
    bool: tg.tensor([true, false, true]),
    scalar: tg.scalarTensor(42, { dtype: 'float64' }),
    empty: tg.zeros([0, 3]),
  };
}

test('round trip of every dtype, scalar and empty tensors, with metadata', () => {
  const src = allDtypes();
  const f = file('all.safetensors');
  tg.saveSafetensors(f, src, { format: 'pt', note: 'ünïcode ok' });
  const back = tg.loadSafetensors(f);
  assert.equal(Object.keys(back), Object.keys(src));
  for (const [k, t] of Object.entries(src)) {
    assert.is(back[k].dtype, t.dtype, `${k} dtype`);
    assert.equal(back[k].shape, t.shape, `${k} shape`);
    assert.equal(Array.from(back[k].data() as ArrayLike<unknown>), Array.from(t.data() as ArrayLike<unknown>), `${k} values`);
  }
  assert.equal(tg.readSafetensorsHeader(f).metadata, { format: 'pt', note: 'ünïcode ok' });
});

test('byte layout follows the spec: u64 LE header length, space-padded JSON, offsets into the byte buffer', () => {
  const f = file('layout.safetensors');
  tg.saveSafetensors(f, { a: tg.tensor([1, 2]), b: tg.tensor(Int16Array.from([-1])) });
  const buf = fs.readFileSync(f);
  const n = Number(buf.readBigUInt64LE(0));
  assert.is((8 + n) % 8, 0, 'data starts 8-byte aligned');
  const text = buf.subarray(8, 8 + n).toString('utf8');
  assert.ok(/^\{.*\} *$/.test(text), 'JSON padded with spaces');
  assert.equal(JSON.parse(text), {
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'I16', shape: [1], data_offsets: [8, 10] },
  });
  const data = buf.subarray(8 + n);
  assert.is(data.length, 10);
  assert.is(data.readFloatLE(0), 1);
  assert.is(data.readFloatLE(4), 2);
  assert.is(data.readInt16LE(8), -1);
  assert.equal(fs.readdirSync(dir).filter((x) => x.endsWith('.tmp')), [], 'no temporary files left');
});

test('loading onto a device option is validated; a missing file is a plain ENOENT', () => {
  const f = file('dev.safetensors');
  tg.saveSafetensors(f, { a: tg.tensor([1]) });
  assert.throws(() => tg.loadSafetensors(f, { device: 'gpu' as never }), /device/);
  assert.throws(() => tg.loadSafetensors(f, { devcie: 'cpu' } as never), /Unknown option 'devcie'/);
  assert.throws(() => tg.loadSafetensors(file('nope.safetensors')), /ENOENT/);
});

test('truncated and corrupt files: the error names the file and the problem', () => {
  const good = file('good.safetensors');
  tg.saveSafetensors(good, { w: tg.randn([4, 4]), b: tg.randn([4]) });
  const bytes = fs.readFileSync(good);
  const n = Number(bytes.readBigUInt64LE(0));
  const write = (name: string, b: Buffer) => { const p = file(name); fs.writeFileSync(p, b); return p; };
  const cases: [string, Buffer, RegExp][] = [
    ['short.safetensors', bytes.subarray(0, 5), /shorter than the 8-byte header length \(truncated\?\)/],
    ['cut-header.safetensors', bytes.subarray(0, 8 + Math.floor(n / 2)), /header claims \d+ bytes but the file has only \d+.*truncated/],
    ['cut-data.safetensors', bytes.subarray(0, bytes.length - 3), /need 80 bytes of data but the file holds 77.*truncated/],
    ['trailing.safetensors', Buffer.concat([bytes, Buffer.from([1, 2])]), /2 bytes after the last tensor/],
  ];
  const huge = Buffer.from(bytes);
  huge.writeBigUInt64LE(1n << 40n, 0);
  cases.push(['huge.safetensors', huge, /header length \d+ is larger than/]);
  const notJson = Buffer.from(bytes);
  notJson.write('{"w":!', 8, 'utf8');
  cases.push(['badjson.safetensors', notJson, /header is not valid JSON/]);
  const notObject = Buffer.from(bytes);
  notObject.write('[', 8, 'utf8');
  cases.push(['notobject.safetensors', notObject, /not a JSON object/]);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const withHeader = (h: unknown, data = bytes.subarray(8 + n)) => {
    let json = Buffer.from(JSON.stringify(h));
    json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  };
  cases.push(['dtype.safetensors', withHeader({ ...header, w: { ...header.w, dtype: 'F99' } }), /'w' has an unknown dtype 'F99'/]);
  cases.push(['u32.safetensors', withHeader({ ...header, w: { ...header.w, dtype: 'U32' } }), /dtype U32, which this library does not support/]);
  cases.push(['span.safetensors', withHeader({ ...header, w: { ...header.w, shape: [4, 5] } }), /'w' \(F32, shape \[4, 5\]\) needs 80 bytes but data_offsets \[0, 64\] span 64/]);
  cases.push(['hole.safetensors', withHeader({ w: header.w, b: { ...header.b, data_offsets: [68, 84] } }, Buffer.alloc(84)), /a hole in the byte buffer before 'b'/]);
  cases.push(['overlap.safetensors', withHeader({ w: header.w, b: { ...header.b, data_offsets: [60, 76] } }, Buffer.alloc(76)), /'b' overlaps the previous tensor/]);
  cases.push(['meta.safetensors', withHeader({ ...header, __metadata__: { a: 1 } }), /__metadata__ must map strings to strings/]);
  for (const [name, b, re] of cases) {
    const p = write(name, b);
    let msg = '';
    try { tg.loadSafetensors(p); } catch (e) { msg = (e as Error).message; }
    assert.ok(msg.includes(p), `${name}: error names the file (got: ${msg})`);
    assert.match(msg, re, name);
  }
});

test('saveSafetensors validates its arguments and replaces files atomically', () => {
  const f = file('v.safetensors');
  assert.throws(() => tg.saveSafetensors(f, { a: [1, 2] as never }), /tensors\['a'\]/);
  assert.throws(() => tg.saveSafetensors(f, { a: tg.tensor([1]) }, { n: 1 as never }), /metadata\['n'\]/);
  assert.throws(() => tg.saveSafetensors(f, { __metadata__: tg.tensor([1]) }), /__metadata__/);
  assert.throws(() => tg.saveSafetensors(path.join(dir, 'no-such-dir', 'x.safetensors'), { a: tg.tensor([1]) }), /ENOENT/);
  tg.saveSafetensors(f, { a: tg.tensor([1]) });
  tg.saveSafetensors(f, new Map([['b', tg.tensor([2, 3])]]));
  assert.equal(Object.keys(tg.loadSafetensors(f)), ['b']);
  assert.equal(fs.readdirSync(dir).filter((x) => x.endsWith('.tmp')), []);
});


function trainedModelA() {
  tg.manualSeed(11);
  const m = modelA();
  tg.nn.dcganInit(m);
  m.train();
  tg.tidy(() => { m.call(tg.randn([4, 2, 8, 8])); m.call(tg.randn([4, 2, 8, 8])); }); // move the running stats
  m.eval();
  return m;
}

test('saveModule/loadModule: a fresh model gives the same outputs; mismatches are clear', () => {
  const a = trainedModelA();
  const f = file('model.safetensors');
  tg.saveModule(a, f, { epoch: '3' });
  const b = modelA().eval();
  const w = b.parameters()[0];
  tg.loadModule(b, f);
  assert.ok(b.parameters()[0] === w, 'loaded in place');
  const x = tg.randn([2, 2, 8, 8]);
  assert.equal(b.call(x).toArray(), a.call(x).toArray());
  assert.is(b.stateDict()['1.num_batches_tracked'].item(), 2);
  const other = new nn.Sequential(new nn.Linear(2, 2));
  assert.throws(() => tg.loadModule(other, f), (e: Error) => e.message.startsWith(f) && /unexpected key\(s\): "1\.weight"/.test(e.message) && /size mismatch for "0\.weight": expected shape \[2, 2\].*received \[4, 2, 3, 3\]/.test(e.message));
  const r = tg.loadModule(new nn.Sequential(new nn.Conv2d(2, 4, 3, { stride: 2, padding: 1 })), f, { strict: false });
  assert.ok(r.unexpectedKeys.includes('8.weight'));
  a.dispose();
  b.dispose();
});

test('saveOptimizer/loadOptimizer: resuming from the file continues the same trajectory', () => {
  tg.manualSeed(4);
  const init = [tg.randn([3, 4]), tg.randn([4])];
  const grads = Array.from({ length: 4 }, () => init.map((p) => tg.randn(p.shape)));
  const run = (params: Tensor[], opt: tg.optim.Optimizer<object>, from: number, to: number) => {
    for (let s = from; s < to; s++) {
      params.forEach((p, i) => { p.grad = grads[s][i].clone(); });
      opt.step();
    }
  };
  for (const make of [
    (ps: Tensor[]) => new tg.optim.Adam(ps, { lr: 0.1, amsgrad: true }),
    (ps: Tensor[]) => new tg.optim.SGD(ps, { lr: 0.1, momentum: 0.9 }),
  ]) {
    const a = init.map((t) => t.clone().requiresGrad_(true));
    const optA = make(a);
    run(a, optA, 0, 4);
    const b = init.map((t) => t.clone().requiresGrad_(true));
    const optB = make(b);
    run(b, optB, 0, 2);
    const f = file('opt.safetensors');
    tg.saveOptimizer(optB, f);
    const c = b.map((t) => t.detach().clone().requiresGrad_(true));
    const optC = make(c);
    optC.paramGroups[0].lr = 123; // restored from the file
    tg.loadOptimizer(optC, f);
    assert.is(optC.paramGroups[0].lr, 0.1);
    run(c, optC, 2, 4);
    c.forEach((p, i) => assert.equal(p.toArray(), a[i].toArray()));
  }
  const f = file('opt.safetensors');
  assert.throws(() => tg.loadOptimizer(new tg.optim.RMSprop([tg.zeros([1], { requiresGrad: true })]), f), /holds the state of a SGD optimizer, not of a RMSprop/);
  tg.saveSafetensors(file('plain.safetensors'), { a: tg.tensor([1]) });
  assert.throws(() => tg.loadOptimizer(new tg.optim.RMSprop([tg.zeros([1], { requiresGrad: true })]), file('plain.safetensors')), /not saved by saveOptimizer/);
});

// The independent reader needs /usr/bin/python3 with torch: asked once, before the tests; without
// it the tests that use it are skipped, saying why.
function pythonTorchMissing(): string | null {
  if (!fs.existsSync(PY)) return `${PY} not found`;
  const r = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PY} cannot import torch (${(r.stderr || '').trim().split('\n').pop()})`;
}
const withPythonTorch = testUnless(pythonTorchMissing());

function runPy(...args: string[]): any {
  const r = spawnSync(PY, [READER, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`read_safetensors.py ${args[0]} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

withPythonTorch('an independent reader (Python, struct + json + torch.frombuffer) reads every dtype of our files', () => {
  const src = allDtypes();
  const f = file('py-all.safetensors');
  tg.saveSafetensors(f, src, { format: 'pt' });
  const out = runPy('dump', f);
  assert.equal(out.metadata, { format: 'pt' });
  const pyName: Record<string, string> = { float32: 'float32', float64: 'float64', float16: 'float16', bfloat16: 'bfloat16', int64: 'int64', int32: 'int32', int16: 'int16', int8: 'int8', uint8: 'uint8', bool: 'bool' };
  for (const [k, t] of Object.entries(src)) {
    const e = out.tensors[k];
    assert.is(e.dtype, pyName[t.dtype], `${k} dtype`);
    assert.equal(e.shape, t.shape, `${k} shape`);
    const ours = t.dtype === 'int64' ? Array.from(t.data() as BigInt64Array, (v) => Number(v)) : t.toArray();
    const theirs = (e.values as (number | boolean)[]).map((v) => (typeof v === 'boolean' ? Number(v) : v));
    if (k === 'i64') assert.equal(theirs.slice(0, 2), ours.slice(0, 2)); // 2^53+1 is not a JS number
    else assert.equal(theirs, ours, `${k} values`);
  }
});

withPythonTorch('the equivalent torch model loads our saved module and computes the same forward pass', () => {
  const m = trainedModelA();
  const wf = file('py-model.safetensors');
  const xf = file('py-input.safetensors');
  tg.saveModule(m, wf);
  tg.manualSeed(5);
  const x = tg.randn([3, 2, 8, 8]);
  tg.saveSafetensors(xf, { x });
  const out = runPy('forward', wf, xf);
  const ours = m.call(x);
  assert.equal(out.shape, ours.shape);
  const a = ours.toArray();
  const worst = a.reduce((s, v, i) => Math.max(s, Math.abs(v - out.values[i])), 0);
  assert.ok(worst < 1e-4, `max abs difference ${worst}`);
  m.dispose();
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test.run();
