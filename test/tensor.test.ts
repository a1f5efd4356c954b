// The tensor layer against hand-computed values: creation and dtypes, reading
// back, reductions, shape ops, indexing, in-place ops, grad mode, seeding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6, what = '') => {
  assert.is(a.length, b.length, `${what} length`);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};
const vals = (t: Tensor): number[] => t.toArray();

// ---------------------------------------------------------------- creation and dtypes

test('tensor() from nested arrays infers the shape; JS numbers make float32, booleans bool', () => {
  const t = tg.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.equal(t.shape, [2, 3]);
  assert.is(t.ndim, 2);
  assert.is(t.numel(), 6);
  assert.is(t.dtype, 'float32');
  assert.is(t.device, 'cpu');
  assert.equal(vals(t), [1, 2, 3, 4, 5, 6]);
  assert.equal(t.size(), [2, 3]);
  assert.is(t.size(-1), 3);
  const b = tg.tensor([[true, false], [false, true]]);
  assert.is(b.dtype, 'bool');
  assert.instance(b.data(), Uint8Array);
  assert.equal(Array.from(b.data() as Uint8Array), [1, 0, 0, 1]);
  const s = tg.tensor(3.5);
  assert.equal(s.shape, []);
  assert.is(s.item(), 3.5);
  const e = tg.tensor([]);
  assert.equal(e.shape, [0]);
  assert.is(e.numel(), 0);
});

test('float32 rounds, float64 keeps a double exactly', () => {
  assert.is(tg.tensor([0.1]).item(), Math.fround(0.1));
  assert.is(tg.tensor([0.1], { dtype: 'float64' }).item(), 0.1);
  assert.is(tg.tensor([1 / 3], { dtype: 'float64' }).item(), 1 / 3);
});

test('float16 and bfloat16 store with their own precision and read back as Float32Array', () => {
  const h = tg.tensor([1.5, 65504, 70000, 0.1], { dtype: 'float16' });
  assert.is(h.dtype, 'float16');
  const hd = h.data();
  assert.instance(hd, Float32Array);
  // 65504 is float16's max; 70000 overflows to Infinity; 0.1 is 0x2E66 = 0.0999755859375
  assert.equal(Array.from(hd as Float32Array), [1.5, 65504, Infinity, 0.0999755859375]);
  const b = tg.tensor([1.5, 0.1, 3.14159], { dtype: 'bfloat16' });
  assert.is(b.dtype, 'bfloat16');
  // bfloat16 keeps 8 significant bits: 0.1 -> 0.10009765625, pi -> 3.140625
  assert.equal(Array.from(b.data() as Float32Array), [1.5, 0.10009765625, 3.140625]);
  assert.is(tg.tensor([0.1], { dtype: 'float16' }).item(), 0.0999755859375);
});

test('integer and bool dtypes: int64, int32, int16, int8, uint8, bool', () => {
  const l = tg.tensor([1, -2, 3], { dtype: 'int64' });
  assert.is(l.dtype, 'int64');
  assert.equal(Array.from(l.data() as BigInt64Array), [1n, -2n, 3n]);
  assert.equal(vals(l), [1, -2, 3]);
  const i = tg.tensor([7, -8], { dtype: 'int32' });
  assert.instance(i.data(), Int32Array);
  assert.equal(vals(i), [7, -8]);
  assert.instance(tg.tensor([1], { dtype: 'int16' }).data(), Int16Array);
  assert.instance(tg.tensor([1], { dtype: 'int8' }).data(), Int8Array);
  const u = tg.tensor([0, 200, 255], { dtype: 'uint8' });
  assert.is(u.dtype, 'uint8');
  assert.equal(Array.from(u.data() as Uint8Array), [0, 200, 255]);
  const b = tg.tensor([0, 2, -1], { dtype: 'bool' });
  assert.is(b.dtype, 'bool');
  assert.equal(vals(b), [0, 1, 1]);
  assert.is(tg.tensor([true]).item(), 1, 'bool item() reads as 1 (item() is typed as number)');
});

test('typed arrays round-trip with their dtype (and a shape)', () => {
  const cases: [ArrayLike<number | bigint> & { constructor: unknown }, string][] = [
    [new Float32Array([1.25, -2, 3e-3]), 'float32'],
    [new Float64Array([0.1, 1e300, -5e-324]), 'float64'],
    [new Int32Array([2147483647, -2147483648, 0]), 'int32'],
    [new Int16Array([-32768, 32767, 5]), 'int16'],
    [new Int8Array([-128, 127, 0]), 'int8'],
    [new Uint8Array([0, 128, 255]), 'uint8'],
    [new BigInt64Array([9007199254740993n, -(2n ** 63n), 2n ** 63n - 1n]), 'int64'],
  ];
  for (const [arr, dtype] of cases) {
    const t = tg.tensor(arr as never);
    assert.is(t.dtype, dtype);
    const back = t.data();
    assert.is(back.constructor, arr.constructor, `${dtype}: same typed array class`);
    assert.equal(Array.from(back as ArrayLike<number>), Array.from(arr as ArrayLike<number>), `${dtype}: same values`);
  }
  const m = tg.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.equal(m.shape, [2, 3]);
  assert.equal(vals(m.select(1, 2)), [3, 6]);
  // a typed array converted on the way in
  const d = tg.tensor(new Int32Array([1, 2]), { dtype: 'float64' });
  assert.is(d.dtype, 'float64');
  assert.equal(Array.from(d.data() as Float64Array), [1, 2]);
  // the tensor owns a copy: changing the source afterwards changes nothing
  const src = new Float32Array([1, 2]);
  const c = tg.tensor(src);
  src[0] = 99;
  assert.equal(vals(c), [1, 2]);
  // and data() hands back a copy too
  const out = c.data() as Float32Array;
  out[1] = -1;
  assert.equal(vals(c), [1, 2]);
});

test('data() of a non-contiguous view reads in logical order', () => {
  const t = tg.tensor([[1, 2, 3], [4, 5, 6]]).t();
  assert.not.ok(t.isContiguous());
  assert.equal(vals(t), [1, 4, 2, 5, 3, 6]);
});

test('dataAsync() resolves to the same values as data(); item() and toArray()', async () => {
  const t = tg.arange(0, 6, 1, { dtype: 'float64' }).reshape(2, 3).t();
  const a = await t.dataAsync();
  assert.instance(a, Float64Array);
  assert.equal(Array.from(a as Float64Array), Array.from(t.data() as Float64Array));
  assert.equal(Array.from(a as Float64Array), [0, 3, 1, 4, 2, 5]);
  const h = await tg.tensor([0.1], { dtype: 'float16' }).dataAsync();
  assert.instance(h, Float32Array);
  assert.is(h[0], 0.0999755859375);
  assert.is(tg.tensor([[42]]).item(), 42);
  assert.equal(tg.arange(3).toArray(), [0, 1, 2]);
});

test('constant creators: zeros, ones, full, empty, eye, linspace, arange, scalarTensor', () => {
  assert.equal(vals(tg.zeros([2, 2])), [0, 0, 0, 0]);
  assert.equal(vals(tg.ones([3], { dtype: 'int32' })), [1, 1, 1]);
  assert.is(tg.ones([3], { dtype: 'int32' }).dtype, 'int32');
  assert.equal(vals(tg.full([2], 7, { dtype: 'int64' })), [7, 7]);
  assert.equal(vals(tg.full([2], -0.5, { dtype: 'float64' })), [-0.5, -0.5]);
  assert.equal(tg.empty([2, 0, 3]).shape, [2, 0, 3]);
  assert.equal(vals(tg.eye(2, 3)), [1, 0, 0, 0, 1, 0]);
  assert.equal(vals(tg.eye(2)), [1, 0, 0, 1]);
  assert.equal(vals(tg.linspace(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1]);
  const ai = tg.arange(5);
  assert.is(ai.dtype, 'int64');
  assert.equal(vals(ai), [0, 1, 2, 3, 4]);
  assert.equal(vals(tg.arange(2, 11, 3)), [2, 5, 8]);
  const af = tg.arange(0, 1, 0.25);
  assert.is(af.dtype, 'float32');
  assert.equal(vals(af), [0, 0.25, 0.5, 0.75]);
  assert.is(tg.arange(3, undefined, 1, { dtype: 'float64' }).dtype, 'float64');
  const s = tg.scalarTensor(2.5, { dtype: 'float64' });
  assert.equal(s.shape, []);
  assert.is(s.item(), 2.5);
});

test('*Like creators follow shape and dtype unless told otherwise', () => {
  const src = tg.ones([2, 3], { dtype: 'int64' });
  const z = tg.zerosLike(src);
  assert.equal(z.shape, [2, 3]);
  assert.is(z.dtype, 'int64');
  assert.equal(vals(z), [0, 0, 0, 0, 0, 0]);
  const o = tg.onesLike(src, 'float64');
  assert.is(o.dtype, 'float64');
  assert.equal(vals(tg.fullLike(tg.zeros([2]), 3.5)), [3.5, 3.5]);
  assert.equal(tg.randLike(tg.zeros([4, 1])).shape, [4, 1]);
  assert.equal(tg.emptyLike(tg.zeros([5])).shape, [5]);
  const rl = tg.randnLike(tg.zeros([3], { dtype: 'float64' }));
  assert.is(rl.dtype, 'float64');
  assert.not.ok(tg.zerosLike(tg.ones([2], { requiresGrad: true })).requiresGrad, '*Like does not inherit requiresGrad');
});

test('random creators: ranges and moments', () => {
  tg.manualSeed(7);
  const r = tg.rand([4000]);
  assert.ok(r.min().item() >= 0 && r.max().item() < 1);
  assert.ok(Math.abs(r.mean().item() - 0.5) < 0.03);
  const n = tg.randn([4000], { dtype: 'float64' });
  assert.ok(Math.abs(n.mean().item()) < 0.1);
  assert.ok(Math.abs(n.std().item() - 1) < 0.1);
  const u = tg.uniform([2000], -3, -1);
  assert.ok(u.min().item() >= -3 && u.max().item() < -1);
  const g = tg.normal([4000], 10, 0.5, { dtype: 'float64' });
  assert.ok(Math.abs(g.mean().item() - 10) < 0.05);
  assert.ok(Math.abs(g.std().item() - 0.5) < 0.05);
  const ri = tg.randint(2, 5, [1000]);
  assert.is(ri.dtype, 'int64');
  assert.ok(ri.min().item() >= 2 && ri.max().item() <= 4);
  assert.equal(vals(ri.eq(2).any()), [1]);
  assert.equal(vals(ri.eq(4).any()), [1]);
});

test('manualSeed makes random streams reproducible', () => {
  tg.manualSeed(123);
  const a = [...vals(tg.randn([5])), ...vals(tg.rand([3])), ...vals(tg.randint(0, 100, [4]))];
  tg.manualSeed(123);
  const b = [...vals(tg.randn([5])), ...vals(tg.rand([3])), ...vals(tg.randint(0, 100, [4]))];
  assert.equal(a, b);
  tg.manualSeed(124);
  assert.not.equal(vals(tg.randn([5])), a.slice(0, 5));
});

test('to(): dtype conversions truncate toward zero; copy makes a distinct tensor', () => {
  const f = tg.tensor([1.7, -1.7, 2.5]);
  assert.equal(vals(f.to(undefined, 'int32')), [1, -1, 2]);
  assert.equal(vals(f.long()), [1, -1, 2]);
  assert.is(f.double().dtype, 'float64');
  assert.is(f.to({ dtype: 'float16' }).dtype, 'float16');
  assert.is(tg.tensor([1], { dtype: 'int64' }).float().dtype, 'float32');
  assert.is(f.cpu().device, 'cpu');
  const same = f.to('cpu');
  same.add_(1);
  assert.ok(Math.abs(vals(f)[0] - 2.7) < 1e-6, 'to() without a change aliases the storage (as PyTorch)');
  const copy = f.to({ device: 'cpu', copy: true });
  copy.add_(1);
  assert.ok(Math.abs(vals(f)[0] - 2.7) < 1e-6, 'copy: true detaches the storage');
});

// ---------------------------------------------------------------- arithmetic

test('elementwise arithmetic with broadcasting and scalars', () => {
  const a = tg.tensor([[1, 2], [3, 4]]);
  const b = tg.tensor([10, 20]);
  assert.equal(vals(a.add(b)), [11, 22, 13, 24]);
  assert.equal(vals(a.add(b, 2)), [21, 42, 23, 44]);
  assert.equal(vals(a.sub(1)), [0, 1, 2, 3]);
  assert.equal(vals(a.mul(b)), [10, 40, 30, 80]);
  assert.equal(vals(a.div(2)), [0.5, 1, 1.5, 2]);
  assert.equal(vals(a.pow(2)), [1, 4, 9, 16]);
  assert.equal(vals(a.rsub(10)), [9, 8, 7, 6]);
  assert.equal(vals(a.remainder(3)), [1, 2, 0, 1]);
  assert.equal(vals(a.neg()), [-1, -2, -3, -4]);
  assert.equal(vals(a.gt(2)), [0, 0, 1, 1]);
  assert.is(a.gt(2).dtype, 'bool');
  assert.equal(vals(a.eq(tg.tensor([1, 3]))), [1, 0, 0, 0]);
  assert.equal(vals(tg.tensor([-2, 0.5, 3]).clamp(-1, 1)), [-1, 0.5, 1]);
  assert.equal(vals(tg.tensor([-2, 0.5, 3]).clamp(null, 1)), [-2, 0.5, 1]);
  assert.equal(vals(tg.where(tg.tensor([true, false]), 1, tg.tensor([5, 6]))), [1, 6]);
  // a number operand keeps its value and promotes as a Python number (it once took the bool
  // condition's dtype: 2.5 became true, read back as 1)
  const c = tg.tensor([true, false]);
  assert.equal(vals(tg.where(c, 2.5, tg.tensor([5, 6]))), [2.5, 6]);
  assert.equal([vals(tg.where(c, 2.5, -1)), tg.where(c, 2.5, -1).dtype], [[2.5, -1], 'float32']);
  assert.equal([vals(tg.where(c, tg.tensor([7, 8], { dtype: 'int32' }), 0)), tg.where(c, tg.tensor([7, 8], { dtype: 'int32' }), 0).dtype], [[7, 0], 'int32']);
  close(tg.tensor([0, 1]).exp().data() as Float32Array, [1, Math.E]);
  close(tg.tensor([-1, 2]).leakyRelu(0.2).data() as Float32Array, [-0.2, 2]);
  close(tg.tensor([0]).sigmoid().data() as Float32Array, [0.5]);
  // an int tensor plus a whole number stays int
  assert.is(tg.tensor([1, 2], { dtype: 'int32' }).add(1).dtype, 'int32');
  assert.is(tg.tensor([1, 2], { dtype: 'int32' }).add(0.5).dtype, 'float32');
});

test('matmul / mm / outer', () => {
  const a = tg.tensor([[1, 2], [3, 4]]);
  const b = tg.tensor([[5, 6], [7, 8]]);
  assert.equal(vals(a.matmul(b)), [19, 22, 43, 50]);
  assert.equal(vals(a.mm(b)), [19, 22, 43, 50]);
  assert.equal(vals(a.matmul(tg.tensor([1, 1]))), [3, 7]);
  assert.equal(vals(tg.tensor([1, 2]).outer(tg.tensor([3, 4, 5]))), [3, 4, 5, 6, 8, 10]);
});

// ---------------------------------------------------------------- reductions

test('reductions over all elements and over dims, with keepdim', () => {
  const t = tg.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.is(t.sum().item(), 21);
  assert.equal(t.sum().shape, []);
  assert.equal(vals(t.sum(0)), [5, 7, 9]);
  assert.equal(vals(t.sum(1)), [6, 15]);
  assert.equal(t.sum(1, true).shape, [2, 1]);
  assert.equal(vals(t.sum([0, 1])), [21]);
  assert.equal(vals(t.sum(-1)), [6, 15]);
  assert.is(t.sum(undefined, false, 'float64').dtype, 'float64');
  assert.is(t.mean().item(), 3.5);
  assert.equal(vals(t.mean(0)), [2.5, 3.5, 4.5]);
  assert.equal(t.mean(0, true).shape, [1, 3]);
  assert.equal(vals(t.prod(1)), [6, 120]);
  assert.is(t.prod().item(), 720);
  // sample variance of 1..6 is 3.5; population 35/12
  close([t.var().item()], [3.5]);
  close([t.var(undefined, { unbiased: false }).item()], [35 / 12]);
  close(t.var(1, { unbiased: false, keepdim: true }).data() as Float32Array, [2 / 3, 2 / 3]);
  assert.equal(t.var(1, { keepdim: true }).shape, [2, 1]);
  close([t.std().item()], [Math.sqrt(3.5)]);
  close([tg.tensor([3, 4]).norm().item()], [5]);
  close([tg.tensor([3, -4]).norm(1).item()], [7]);
  close(tg.tensor([[3, 4], [6, 8]]).norm(2, 1).data() as Float32Array, [5, 10]);
  assert.equal(vals(tg.tensor([1, 2, 3]).cumsum(0)), [1, 3, 6]);
  assert.equal(vals(tg.tensor([0, 0, 1]).any()), [1]);
  assert.equal(vals(tg.tensor([0, 1, 1]).all()), [0]);
  // integer sums promote to int64, as in PyTorch
  assert.is(tg.tensor(new Int32Array([1, 2])).sum().dtype, 'int64');
});

test('max / min with and without dims; indices are int64', () => {
  const t = tg.tensor([[1, 5, 2], [7, 0, 3]]);
  assert.is(t.max().item(), 7);
  assert.is(t.min().item(), 0);
  const [mv, mi] = t.max(1);
  assert.equal(vals(mv), [5, 7]);
  assert.equal(vals(mi), [1, 0]);
  assert.is(mi.dtype, 'int64');
  const [nv, ni] = t.min(0, true);
  assert.equal(nv.shape, [1, 3]);
  assert.equal(vals(nv), [1, 0, 2]);
  assert.equal(vals(ni), [0, 1, 0]);
  assert.equal(vals(t.argmax(1)), [1, 0]);
  assert.equal(vals(t.argmin(1)), [0, 1]);
  assert.equal(t.argmax(1, true).shape, [2, 1]);
  assert.is(t.argmax().item(), 3, 'flat index without a dim');
  const [sv, si] = tg.tensor([3, 1, 2]).sort(0, true);
  assert.equal(vals(sv), [3, 2, 1]);
  assert.equal(vals(si), [0, 2, 1]);
  const [kv, ki] = tg.tensor([3, 1, 2, 5]).topk(2);
  assert.equal(vals(kv), [5, 3]);
  assert.equal(vals(ki), [3, 0]);
  assert.equal(vals(tg.tensor([1, 4]).maximum(tg.tensor([3, 2]))), [3, 4]);
  assert.equal(vals(tg.tensor([1, 4]).minimum(tg.tensor([3, 2]))), [1, 2]);
});

// ---------------------------------------------------------------- shape ops

test('reshape / view / flatten / squeeze / unsqueeze', () => {
  const t = tg.arange(6);
  assert.equal(t.reshape(2, 3).shape, [2, 3]);
  assert.equal(t.reshape([3, -1]).shape, [3, 2]);
  assert.equal(vals(t.view(3, 2).select(0, 2)), [4, 5]);
  assert.equal(t.view(1, 6, 1).squeeze().shape, [6]);
  assert.equal(t.view(1, 6, 1).squeeze(0).shape, [6, 1]);
  assert.equal(t.unsqueeze(0).shape, [1, 6]);
  assert.equal(t.unsqueeze(-1).shape, [6, 1]);
  assert.equal(t.reshape(2, 3, 1).flatten().shape, [6]);
  assert.equal(t.reshape(2, 3, 1).flatten(1).shape, [2, 3]);
  // view shares storage: writing through it changes the original
  const v = t.view(2, 3);
  v.fill_(9);
  assert.equal(vals(t), [9, 9, 9, 9, 9, 9]);
  // view of a transposed (non-contiguous) tensor is refused; reshape copies
  const tt = tg.arange(6).reshape(2, 3).t();
  assert.throws(() => tt.view(6), /view size is not compatible/);
  assert.equal(vals(tt.reshape(6)), [0, 3, 1, 4, 2, 5]);
  assert.equal(vals(tt.contiguous().view(6)), [0, 3, 1, 4, 2, 5]);
});

test('permute / transpose / t / expand / repeat / flip', () => {
  const t = tg.arange(24).reshape(2, 3, 4);
  const p = t.permute(2, 0, 1);
  assert.equal(p.shape, [4, 2, 3]);
  // p[i][j][k] = t[j][k][i] = 12j + 4k + i
  assert.equal(vals(p.select(0, 1).select(0, 1)), [13, 17, 21]);
  assert.equal(t.permute([1, 0, 2]).shape, [3, 2, 4]);
  const tr = t.transpose(0, 2);
  assert.equal(tr.shape, [4, 3, 2]);
  assert.equal(vals(tr.select(0, 3).select(0, 2)), [11, 23]);
  assert.equal(vals(tg.tensor([[1, 2], [3, 4]]).t()), [1, 3, 2, 4]);
  assert.equal(vals(tg.tensor([[1], [2]]).expand(2, 3)), [1, 1, 1, 2, 2, 2]);
  assert.equal(vals(tg.tensor([1, 2]).repeat(2, 2)), [1, 2, 1, 2, 1, 2, 1, 2]);
  assert.equal(vals(tg.tensor([[1, 2], [3, 4]]).flip(1)), [2, 1, 4, 3]);
  assert.equal(vals(tg.tensor([[1, 2], [3, 4]]).flip([0, 1])), [4, 3, 2, 1]);
});

test('cat / stack / split / chunk / narrow', () => {
  const a = tg.tensor([[1, 2]]);
  const b = tg.tensor([[3, 4], [5, 6]]);
  const c = tg.cat([a, b]);
  assert.equal(c.shape, [3, 2]);
  assert.equal(vals(c), [1, 2, 3, 4, 5, 6]);
  assert.equal(vals(tg.cat([tg.tensor([[1], [2]]), tg.tensor([[3], [4]])], 1)), [1, 3, 2, 4]);
  const s = tg.stack([tg.tensor([1, 2]), tg.tensor([3, 4])]);
  assert.equal(s.shape, [2, 2]);
  const s1 = tg.stack([tg.tensor([1, 2]), tg.tensor([3, 4])], 1);
  assert.equal(vals(s1), [1, 3, 2, 4]);
  const parts = tg.arange(5).split(2);
  assert.equal(parts.map(vals), [[0, 1], [2, 3], [4]]);
  assert.equal(tg.arange(5).split([1, 4]).map(vals), [[0], [1, 2, 3, 4]]);
  assert.equal(tg.arange(6).reshape(2, 3).split(1, 1).map((t) => t.shape), [[2, 1], [2, 1], [2, 1]]);
  assert.equal(tg.arange(5).chunk(2).map(vals), [[0, 1, 2], [3, 4]]);
  assert.equal(tg.arange(6).reshape(3, 2).chunk(3).map(vals), [[0, 1], [2, 3], [4, 5]]);
  assert.equal(vals(tg.arange(10).narrow(0, 3, 4)), [3, 4, 5, 6]);
  assert.equal(vals(tg.arange(6).reshape(2, 3).narrow(1, 1, 2)), [1, 2, 4, 5]);
});

test('indexSelect / gather / maskedFill / select / slice', () => {
  const t = tg.tensor([[1, 2, 3], [4, 5, 6]]);
  const idx = tg.tensor([2, 0], { dtype: 'int64' });
  assert.equal(vals(t.indexSelect(1, idx)), [3, 1, 6, 4]);
  assert.equal(vals(t.indexSelect(0, tg.tensor([1, 1, 0], { dtype: 'int64' }))), [4, 5, 6, 4, 5, 6, 1, 2, 3]);
  // gather: out[i][j] = t[i][index[i][j]]
  const g = t.gather(1, tg.tensor([[0, 0], [2, 1]], { dtype: 'int64' }));
  assert.equal(vals(g), [1, 1, 6, 5]);
  assert.equal(vals(t.gather(0, tg.tensor([[1, 0, 1]], { dtype: 'int64' }))), [4, 2, 6]);
  assert.equal(vals(t.maskedFill(t.gt(4), -1)), [1, 2, 3, 4, -1, -1]);
  assert.equal(vals(t.select(1, -1)), [3, 6]);
  assert.equal(vals(t.slice(1, 1)), [2, 3, 5, 6]);
  assert.equal(vals(t.slice(1, null, null, 2)), [1, 3, 4, 6]);
});

test('index() with numbers, slice strings, slice objects and null', () => {
  const t = tg.arange(12).reshape(3, 4);
  assert.equal(vals(t.index(1)), [4, 5, 6, 7]);
  assert.equal(vals(t.index(-1)), [8, 9, 10, 11]);
  assert.is(t.index(2, 3).item(), 11);
  assert.equal(t.index(2, 3).shape, []);
  const sl = t.index('1:', '::2');
  assert.equal(sl.shape, [2, 2]);
  assert.equal(vals(sl), [4, 6, 8, 10]);
  assert.equal(vals(t.index(':', 1)), [1, 5, 9]);
  assert.equal(vals(t.index(':2', '-2:')), [2, 3, 6, 7]);
  assert.equal(vals(t.index(0, { start: 1, end: 4, step: 2 })), [1, 3]);
  assert.equal(t.index(null).shape, [1, 3, 4]);
  assert.equal(t.index(':', null, 0).shape, [3, 1]);
  assert.equal(vals(t.index(':', null, 0)), [0, 4, 8]);
  // no specs: a new handle to the same tensor
  const same = t.index();
  assert.equal(same.shape, [3, 4]);
  // slices are views: writing through them changes the source
  t.index(0, '1:3').fill_(-5);
  assert.equal(vals(t.index(0)), [0, -5, -5, 3]);
});

// ---------------------------------------------------------------- in-place

test('in-place ops return this and change the values', () => {
  const t = tg.tensor([1, 2, 3]);
  assert.is(t.add_(1), t);
  assert.equal(vals(t), [2, 3, 4]);
  t.add_(tg.tensor([1, 1, 1]), 10);
  assert.equal(vals(t), [12, 13, 14]);
  // a number times alpha (this threw: the binding's scaled add takes a Tensor)
  t.add_(3, -2);
  assert.equal(vals(t), [6, 7, 8]);
  t.add_(6, 1);
  t.sub_(2).mul_(0.5).div_(tg.tensor([5, 1, 2]));
  assert.equal(vals(t), [1, 5.5, 3]);
  t.clamp_(2, 4);
  assert.equal(vals(t), [2, 4, 3]);
  t.addcmul_(tg.tensor([1, 2, 3]), tg.tensor([2, 2, 2]), 0.5);
  assert.equal(vals(t), [3, 6, 6]);
  t.addcdiv_(tg.tensor([6, 6, 6]), tg.tensor([2, 3, 6]), 2);
  assert.equal(vals(t), [9, 10, 8]);
  t.lerp_(tg.tensor([1, 2, 0]), 0.5);
  assert.equal(vals(t), [5, 6, 4]);
  t.sqrt_();
  close(t.data() as Float32Array, [Math.sqrt(5), Math.sqrt(6), 2]);
  t.copy_(tg.tensor([7, 8, 9]));
  assert.equal(vals(t), [7, 8, 9]);
  t.maximum_(tg.tensor([10, 0, 10]));
  assert.equal(vals(t), [10, 8, 10]);
  t.fill_(3);
  assert.equal(vals(t), [3, 3, 3]);
  t.zero_();
  assert.equal(vals(t), [0, 0, 0]);
  const u = tg.zeros([1000]).uniform_(2, 3);
  assert.ok(u.min().item() >= 2 && u.max().item() < 3);
  const n = tg.zeros([2000], { dtype: 'float64' }).normal_(5, 0.1);
  assert.ok(Math.abs(n.mean().item() - 5) < 0.02);
});

test('clone copies; detach shares storage but leaves the graph', () => {
  const x = tg.tensor([1, 2], { requiresGrad: true });
  const c = x.clone();
  assert.ok(c.requiresGrad);
  assert.is(c.gradFn, 'CloneBackward0');
  const d = x.detach();
  assert.not.ok(d.requiresGrad);
  d.add_(1);
  assert.equal(vals(x), [2, 3], 'detach() shares storage (as PyTorch)');
});

// ---------------------------------------------------------------- autograd basics

test('backward fills .grad of leaves; grad accumulates; setting grad to null clears it', () => {
  const x = tg.tensor([1, 2, 3], { requiresGrad: true, dtype: 'float64' });
  assert.ok(x.isLeaf);
  const y = x.mul(x).sum();
  assert.not.ok(y.isLeaf);
  assert.is(y.gradFn, 'SumBackward0');
  y.backward();
  assert.equal(vals(x.grad!), [2, 4, 6]);
  x.mul(3).sum().backward();
  assert.equal(vals(x.grad!), [5, 7, 9], 'accumulated');
  x.grad = null;
  assert.is(x.grad, null);
  const z = x.mul(2);
  z.backward({ gradient: tg.tensor([1, 0, -1], { dtype: 'float64' }) });
  assert.equal(vals(x.grad!), [2, 0, -2]);
});

test('noGrad / enableGrad scopes, restored even after a throw', () => {
  const x = tg.ones([2], { requiresGrad: true });
  assert.ok(tg.autograd.isGradEnabled());
  const y = tg.noGrad(() => x.mul(2));
  assert.not.ok(y.requiresGrad);
  assert.ok(tg.autograd.isGradEnabled(), 'restored');
  const z = tg.noGrad(() => tg.enableGrad(() => x.mul(2)));
  assert.ok(z.requiresGrad);
  assert.throws(() => tg.noGrad(() => { throw new Error('inside'); }), /inside/);
  assert.ok(tg.autograd.isGradEnabled(), 'restored after a throw');
  tg.autograd.setGradEnabled(false);
  assert.not.ok(x.mul(2).requiresGrad);
  tg.autograd.setGradEnabled(true);
  assert.ok(x.mul(2).requiresGrad);
});

test('requiresGrad getter/setter and requiresGrad_', () => {
  const t = tg.zeros([2]);
  assert.not.ok(t.requiresGrad);
  t.requiresGrad = true;
  assert.ok(t.requiresGrad);
  assert.is(t.requiresGrad_(false), t);
  assert.not.ok(t.requiresGrad);
});

test('toString names shape, dtype and device', () => {
  const s = tg.tensor([[1, 2]], { dtype: 'float64' }).toString();
  assert.match(s, /shape=\[1,2\]/);
  assert.match(s, /dtype=float64/);
  assert.match(s, /device=cpu/);
});

// ---------------------------------------------------------------- known bug

test('tensor() from JS numbers keeps integers exact in int64 / int32 (KNOWN BUG: goes through Float32Array)', () => {
  // lib/tensor/creation.ts tensor(): nested data for any dtype but float64 is first
  // packed into a Float32Array, so integers above 2^24 are rounded and int32's max wraps.
  assert.equal(tg.tensor([16777217], { dtype: 'int64' }).toArray(), [16777217]);
  assert.equal(tg.tensor([2147483647], { dtype: 'int32' }).toArray(), [2147483647]);
});

test('shape, ndim, numel, dtype, device: read once and cached, a copy handed out, a disposed tensor still refused', () => {
  const t = tg.zeros([2, 3, 4], { dtype: 'float64' });
  const s = t.shape;
  s[0] = 99; // the caller's copy, not the tensor's
  assert.equal(t.shape, [2, 3, 4]);
  assert.equal([t.ndim, t.numel(), t.dtype, t.device], [3, 24, 'float64', 'cpu']);
  const v = t.view(6, 4);
  assert.equal([v.shape, v.ndim, v.numel()], [[6, 4], 2, 24]);
  t.mul_(2); // in-place ops keep the shape
  assert.equal(t.shape, [2, 3, 4]);
  t.dispose();
  for (const read of [() => t.shape, () => t.ndim, () => t.numel(), () => t.dtype, () => t.device]) {
    assert.throws(read, /disposed Tensor/);
  }
  const inScope = tg.tidy(() => {
    const u = tg.ones([5]);
    assert.is(u.numel(), 5);
    return () => u.numel();
  });
  assert.throws(inScope, /disposed Tensor/, 'freed by its tidy() scope');
  v.dispose();
});

test.run();
