// Deterministic memory: tidy(), tidyAsync(), keep(), dispose() and the live
// tensor / byte counters of memory().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { isTorchError } from './helpers/errors';

// Other test files run in this process (uvu) and may leave tensors to the garbage
// collector; their finalizers would move the counters mid-test. Collect first.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r)); // finalizers may run after the collection
  }
}
const snapshot = () => {
  const m = tg.memory();
  return { tensors: m.tensors, bytes: m.bytes };
};

test('a loop of 10,000 ops, each inside tidy(), leaves memory() where it started', async () => {
  await settle();
  const w = tg.randn([8, 8]);
  const x = tg.randn([4, 8]);
  const start = snapshot();
  let acc = 0;
  for (let i = 0; i < 10_000; i++) {
    acc += tg.tidy(() => {
      const y = x.matmul(w).tanh().add(i).mul(0.5); // several temporaries per step
      return y.index(0, 0).item();
    });
  }
  assert.ok(Number.isFinite(acc));
  assert.equal(snapshot(), start, 'every temporary was freed');
  // and the counters are not simply frozen: a tensor made outside any scope counts
  const extra = tg.zeros([10], { dtype: 'float64' });
  assert.equal(snapshot(), { tensors: start.tensors + 1, bytes: start.bytes + 80 });
  extra.dispose();
  assert.equal(snapshot(), start);
  w.dispose();
  x.dispose();
});

test('memory() counts tensors and bytes (float32: 4 bytes per element)', () => {
  const before = snapshot();
  const a = tg.zeros([3, 5]);
  const b = tg.ones([2], { dtype: 'int64' });
  assert.equal(snapshot(), { tensors: before.tensors + 2, bytes: before.bytes + 60 + 16 });
  a.dispose();
  b.dispose();
  assert.equal(snapshot(), before);
  const m = tg.memory();
  assert.is(m.cpu.tensors + m.cuda.tensors, m.tensors);
});

test('tidy returns the tensors it returns (also inside arrays and objects), frees the rest', () => {
  const before = snapshot().tensors;
  let temp: Tensor | undefined;
  const r = tg.tidy(() => {
    temp = tg.ones([2]).mul(3);
    const a = temp.add(1);
    const b = temp.sub(1);
    return { a, list: [b], n: 7 };
  });
  assert.ok(temp!.isDisposed, 'the temporary is freed');
  assert.not.ok(r.a.isDisposed);
  assert.not.ok(r.list[0].isDisposed);
  assert.equal(r.a.toArray(), [4, 4]);
  assert.equal(r.list[0].toArray(), [2, 2]);
  assert.is(r.n, 7);
  assert.is(snapshot().tensors, before + 2);
  r.a.dispose();
  r.list[0].dispose();
  assert.is(snapshot().tensors, before);
});

test('tidy frees its tensors when fn throws, and rethrows', () => {
  const before = snapshot().tensors;
  let made: Tensor | undefined;
  assert.throws(() => tg.tidy(() => {
    made = tg.ones([4]);
    throw new Error('boom');
  }), /boom/);
  assert.ok(made!.isDisposed);
  assert.is(snapshot().tensors, before);
});

test('keep() survives the scope; dispose() afterwards frees it', () => {
  const before = snapshot().tensors;
  let kept: Tensor | undefined;
  let other: Tensor | undefined;
  tg.tidy(() => {
    kept = tg.full([3], 2).keep();
    other = tg.full([3], 5);
  });
  assert.not.ok(kept!.isDisposed);
  assert.ok(other!.isDisposed);
  assert.equal(kept!.toArray(), [2, 2, 2]);
  assert.is(snapshot().tensors, before + 1);
  kept!.dispose();
  assert.is(snapshot().tensors, before);
});

test('keep() inside a nested scope survives both scopes', () => {
  let kept: Tensor | undefined;
  tg.tidy(() => {
    tg.tidy(() => { kept = tg.ones([1]).keep(); });
  });
  assert.not.ok(kept!.isDisposed);
  kept!.dispose();
});

test('dispose() is idempotent: a second call neither throws nor decrements the counters twice', () => {
  const before = snapshot();
  const a = tg.zeros([7]);
  const b = tg.zeros([7]);
  a.dispose();
  const mid = snapshot();
  a.dispose();
  a.dispose();
  assert.equal(snapshot(), mid);
  assert.equal(mid, { tensors: before.tensors + 1, bytes: before.bytes + 28 });
  assert.ok(a.isDisposed);
  assert.not.ok(b.isDisposed);
  b.dispose();
  assert.equal(snapshot(), before);
});

test('a disposed tensor cannot be used (a TorchError that says so), but its metadata call fails cleanly too', () => {
  const a = tg.ones([2]);
  a.dispose();
  assert.throws(() => a.add(1), isTorchError('ERR_TENSOR_DISPOSED', /disposed/, { op: 'add', parameter: 'self' }));
  assert.throws(() => a.shape, /disposed/);
});

test('nested tidy moves the tensors it returns to the parent scope', () => {
  const before = snapshot().tensors;
  let inner: Tensor | undefined;
  let innerTemp: Tensor | undefined;
  const out = tg.tidy(() => {
    inner = tg.tidy(() => {
      innerTemp = tg.ones([2]);
      return innerTemp.mul(2);
    });
    assert.ok(innerTemp!.isDisposed, 'the inner temporary dies with the inner scope');
    assert.not.ok(inner.isDisposed, 'the inner result lives on in the outer scope');
    return inner.add(1);
  });
  assert.ok(inner!.isDisposed, 'the outer scope freed the inner result it did not return');
  assert.equal(out.toArray(), [3, 3]);
  assert.is(snapshot().tensors, before + 1);
  out.dispose();
  assert.is(snapshot().tensors, before);
});

test('nested tidy: the inner result returned by the outer scope too survives both', () => {
  const before = snapshot().tensors;
  const r = tg.tidy(() => tg.tidy(() => tg.arange(3)));
  assert.equal(r.toArray(), [0, 1, 2]);
  assert.is(snapshot().tensors, before + 1);
  r.dispose();
});

test('tidyAsync tracks tensors made across awaits and keeps what it returns', async () => {
  const before = snapshot().tensors;
  let a: Tensor | undefined;
  let b: Tensor | undefined;
  const r = await tg.tidyAsync(async () => {
    a = tg.ones([3]);
    await new Promise((res) => setTimeout(res, 1));
    b = a.mul(4);
    const values = await b.dataAsync();
    assert.equal(Array.from(values as Float32Array), [4, 4, 4]);
    await new Promise((res) => setImmediate(res));
    return b.add(1);
  });
  assert.ok(a!.isDisposed);
  assert.ok(b!.isDisposed);
  assert.equal(r.toArray(), [5, 5, 5]);
  assert.is(snapshot().tensors, before + 1);
  r.dispose();
  assert.is(snapshot().tensors, before);
});

test('tidyAsync frees its tensors when fn rejects', async () => {
  const before = snapshot().tensors;
  let made: Tensor | undefined;
  let caught: unknown;
  try {
    await tg.tidyAsync(async () => {
      made = tg.ones([2]);
      await new Promise((res) => setImmediate(res));
      throw new Error('async boom');
    });
  } catch (e) {
    caught = e;
  }
  assert.match(String(caught), /async boom/);
  assert.ok(made!.isDisposed);
  assert.is(snapshot().tensors, before);
});

test('tidy(fn) rejects an async fn with an ERR_INVALID_ARG pointing at tidyAsync', () => {
  assert.throws(() => tg.tidy((async () => 1) as never), isTorchError('ERR_INVALID_ARG', /tidyAsync/, { parameter: 'fn' }));
});

test('tensors made outside any scope stay alive across tidy calls', () => {
  const outside = tg.ones([2]);
  tg.tidy(() => outside.add(1));
  assert.not.ok(outside.isDisposed);
  outside.dispose();
});

test('tensors left to the garbage collector outside any scope are freed by the backstop (after the job that made them)', async () => {
  await settle();
  const start = snapshot();
  // made and dropped in a synchronous run longer than the deferred-registration batch
  (() => {
    for (let i = 0; i < 3000; i++) tg.zeros([16]).add(1);
  })();
  const during = snapshot();
  assert.ok(during.tensors >= start.tensors + 3000, `the dropped tensors are alive until collected (${during.tensors - start.tensors} more)`);
  await new Promise((r) => setImmediate(r)); // the job ends: the rest is registered
  for (let i = 0; i < 20 && snapshot().tensors > start.tensors; i++) await settle();
  assert.equal(snapshot(), start, 'the garbage collector freed every dropped tensor');
});

test('dispose(value) frees tensors in arrays, Maps and objects at once, skips freed ones, leaves the rest alone', () => {
  const before = tg.memory().tensors;
  const a = tg.ones([3]);
  const b = tg.zeros([2, 2]);
  const c = tg.randn([4]);
  const d = tg.ones([1]);
  const survivor = tg.ones([2]);
  c.dispose();
  tg.dispose([a, { weights: [b, c], m: new Map([['d', d]]) }, a, 7, 'x', null]);
  for (const t of [a, b, c, d]) assert.ok(t.isDisposed);
  assert.not.ok(survivor.isDisposed);
  assert.is(tg.memory().tensors, before + 1, 'only the survivor is left');
  tg.dispose([a, b]); // again: nothing happens
  tg.dispose(survivor);
  assert.is(tg.memory().tensors, before);
  // inside tidy(): freed early, the scope's end does not free them twice
  const kept = tg.tidy(() => {
    const x = tg.ones([5]);
    const y = x.mul(2);
    tg.dispose([x]);
    assert.ok(x.isDisposed);
    return y;
  });
  assert.equal(kept.toArray(), [2, 2, 2, 2, 2]);
  kept.dispose();
  assert.is(tg.memory().tensors, before);
});

test.run();
