// Wrong calls generated from the op table (test/helpers/op-table.ts): for every op, each of its
// tensor arguments disposed and replaced by a non-tensor; a bad dim (fractional, NaN, out of
// range, beyond 2^53) for ops that take one; mismatched shapes for elementwise ops; an int64
// input where floats are needed; and for every creation function bad shapes, dtypes, devices
// and options. Each must fail with a TorchError of the right code and torch-gan's words naming the argument
// (never libtorch's wording: it differs between versions), and the process lives on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { assertErrorKind } from './helpers/errors';
import { CREATIONS, OPS } from './helpers/op-table';

// kind: 'arg' (ERR_INVALID_ARG naming the argument) or 'torch' (ERR_TORCH*, ERR_TENSOR_DISPOSED); code: exactly this code
interface Row { what: string; call: () => unknown; kind: 'arg' | 'torch'; msg: RegExp; code?: string }
const esc = (s: string) => s.replace(/[[\]().*+?^$|\\]/g, '\\$&');
/** An object that passes for a Tensor in JS whose handle is not one: the binding's own check answers. */
const notATensor = (): Tensor => Object.create(Tensor.prototype, { _h: { value: 'x' } });
const noCudaDevice = `cuda:${tg.cuda.deviceCount()}` as const;

const rows: Row[] = [];
for (const o of OPS) {
  const where = `${esc(o.op)}\\(\\): argument '${esc('')}`;
  o.tensors.forEach((name, k) => {
    rows.push({
      what: `${o.op}: '${name}' disposed`,
      call: () => {
        const args = o.make();
        args[k].dispose();
        return o.call(...args);
      },
      kind: 'torch', msg: new RegExp(`^${where}${esc(name)}' is a disposed Tensor`), code: 'ERR_TENSOR_DISPOSED',
    });
    rows.push({
      what: `${o.op}: '${name}' not a tensor`,
      call: () => {
        const args = o.make();
        args[k] = notATensor();
        return o.call(...args);
      },
      kind: 'arg', msg: new RegExp(`^${where}${esc(name)}' must be a Tensor${o.numberToo?.includes(name) ? ' or a number' : ''}.*, received string 'x'`),
    });
  });
  if (o.withDim) {
    const d = o.withDim;
    rows.push({ what: `${o.op}: dim 1.5`, call: () => d(1.5), kind: 'arg', msg: new RegExp(`^${esc(o.op)}\\(\\): argument '\\w+(\\[0\\])?' must be an integer, received number 1\\.5`) });
    rows.push({ what: `${o.op}: dim NaN`, call: () => d(NaN), kind: 'arg', msg: new RegExp(`^${esc(o.op)}\\(\\): argument '\\w+(\\[0\\])?' must be an integer, received number NaN`) });
    rows.push({ what: `${o.op}: dim Infinity`, call: () => d(Infinity), kind: 'arg', msg: /must be an integer, received number Infinity/ });
    rows.push({ what: `${o.op}: dim 2^60`, call: () => d(2 ** 60), kind: 'arg', msg: /must be an integer of magnitude below 2\^53 .*received 1152921504606846976/ });
    rows.push({ what: `${o.op}: dim 99 on 2-D`, call: () => d(99), kind: 'torch', msg: new RegExp(`^${esc(o.op)}\\(\\): `), code: 'ERR_TORCH_INDEX' });
  }
  if (o.family === 'binary' && !['matmul', 'mm', 'outer'].includes(o.op)) {
    rows.push({ what: `${o.op}: shapes [2, 3] and [4, 5]`, call: () => o.call(tg.randn([2, 3]), tg.randn([4, 5])), kind: 'torch', msg: new RegExp(`^${esc(o.op)}\\(\\): .*\\b(3|5)\\b`) });
  }
  if (['conv2d', 'convTranspose2d', 'linear', 'matmul', 'mm'].includes(o.op)) {
    rows.push({ what: `${o.op}: an int64 first argument`, call: () => { const a = o.make(); return o.call(a[0].to(undefined, 'int64'), ...a.slice(1)); }, kind: 'torch', msg: new RegExp(`^${esc(o.op)}\\(\\): `) });
  }
}
for (const c of CREATIONS) {
  const name = `${c.name}()`;
  rows.push({ what: `${name} shape [-1]`, call: () => c.call([-1]), kind: 'arg', msg: /'shape\[0\]' must be a non-negative integer, received -1/ });
  rows.push({ what: `${name} shape [2, 1.5]`, call: () => c.call([2, 1.5]), kind: 'arg', msg: /'shape\[1\]' must be an integer, received number 1\.5/ });
  rows.push({ what: `${name} shape [1e20]`, call: () => c.call([1e20]), kind: 'arg', msg: /'shape\[0\]' must be an integer of magnitude below 2\^53/ });
  rows.push({ what: `${name} shape 'abc'`, call: () => c.call('abc' as never), kind: 'arg', msg: /argument 'shape' must be an integer or an array of integers, received string 'abc'/ });
  rows.push({ what: `${name} dtype 'float128'`, call: () => c.call([2], { dtype: 'float128' as never }), kind: 'arg', msg: new RegExp(`for ${esc(name)} options\\.dtype but received string 'float128'`) });
  rows.push({ what: `${name} device 'gpu'`, call: () => c.call([2], { device: 'gpu' as never }), kind: 'arg', msg: new RegExp(`for ${esc(name)} options\\.device but received string 'gpu'`) });
  rows.push({ what: `${name} on ${noCudaDevice}`, call: () => c.call([2], { device: noCudaDevice }), kind: 'torch', msg: new RegExp(`argument 'device' is '${noCudaDevice}' but (CUDA is not available|there (is|are) \\d+ GPU)`) });
  rows.push({ what: `${name} requiresGrad 1`, call: () => c.call([2], { requiresGrad: 1 as never }), kind: 'arg', msg: new RegExp(`boolean for ${esc(name)} options\\.requiresGrad but received number 1`) });
  rows.push({ what: `${name} option 'dtyp'`, call: () => c.call([2], { dtyp: 'float32' } as never), kind: 'arg', msg: new RegExp(`Unknown option 'dtyp' for ${esc(name)}`) });
}

test(`the generated table covers every op of the op table (${OPS.length} ops, ${CREATIONS.length} creation functions, ${rows.length} wrong calls)`, () => {
  for (const o of OPS) assert.ok(rows.some((r) => r.what.startsWith(`${o.op}:`)), `${o.op} has no generated case`);
  assert.ok(rows.length >= 300, `${rows.length}`);
});

// the table's valid calls work: a wrong call fails because of what was made wrong, not the rest
for (const o of OPS) {
  test(`${o.op} (${o.family}): its valid call succeeds`, () => {
    tg.tidy(() => {
      o.call(...o.make());
    });
  });
}

for (const r of rows) {
  test(`${r.what}: ${r.code ?? r.kind}`, () => {
    let err: unknown;
    try {
      tg.tidy(() => {
        r.call();
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err !== undefined, `expected a TorchError (${r.kind}), but the call succeeded`);
    assertErrorKind(err, r.kind, r.code);
    assert.match((err as Error).message, r.msg);
    assert.not.match((err as Error).message, /frame #|Exception raised from|\(\): \w+\(\): /, 'no C++ backtrace, no op named twice');
  });
}

test('after the generated table no tensor is left and ordinary ops still work', () => {
  const before = tg.memory().tensors;
  for (const r of rows) {
    try {
      tg.tidy(() => {
        r.call();
      });
    } catch {
      /* expected */
    }
  }
  assert.is(tg.memory().tensors, before);
  assert.equal(tg.tensor([[1, 2], [3, 4]]).matmul(tg.tensor([[1], [1]])).toArray(), [3, 7]);
});

test.run();
