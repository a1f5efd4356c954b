// tg.linalg.eigh (torch.linalg.eigh) against truths computed here, not by libtorch: the
// reconstruction A = V·diag(w)·Vᵀ and VᵀV = I in plain float64 loops on random symmetric
// matrices, and the closed-form spectrum of the second-difference matrix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor, TorchError } from '../lib';

const threadsBefore = tg.getNumThreads();
test.before(() => tg.setNumThreads(1));
test.after(() => tg.setNumThreads(threadsBefore));

/** A seeded random symmetric n×n float64 matrix as a row-major array. */
function randomSymmetric(n: number, seed: number): Float64Array {
  tg.manualSeed(seed);
  const b = tg.tidy(() => tg.randn([n, n], { dtype: 'float64' }).data() as Float64Array);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = 0.5 * (b[i * n + j] + b[j * n + i]);
  return a;
}

/** w and V (row-major, eigenvectors as columns) of a row-major matrix, read back from eigh. */
function decompose(a: Float64Array, n: number, uplo?: 'L' | 'U', dtype: 'float32' | 'float64' = 'float64') {
  return tg.tidy(() => {
    const { eigenvalues, eigenvectors } = tg.linalg.eigh(tg.tensor(a, [n, n], { dtype }), uplo);
    assert.equal(eigenvalues.shape, [n]);
    assert.equal(eigenvectors.shape, [n, n]);
    assert.is(eigenvalues.dtype, dtype);
    return { w: Float64Array.from(eigenvalues.data() as Float32Array | Float64Array), v: Float64Array.from(eigenvectors.contiguous().data() as Float32Array | Float64Array) };
  });
}

/** max |A − V diag(w) Vᵀ| / max |A|, max |VᵀV − I|, and whether w ascends. */
function residuals(a: Float64Array, n: number, w: Float64Array, v: Float64Array) {
  let scale = 0;
  for (const x of a) scale = Math.max(scale, Math.abs(x));
  let recon = 0;
  let ortho = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let r = 0;
      let o = 0;
      for (let k = 0; k < n; k++) {
        r += v[i * n + k] * w[k] * v[j * n + k];
        o += v[k * n + i] * v[k * n + j];
      }
      recon = Math.max(recon, Math.abs(r - a[i * n + j]));
      ortho = Math.max(ortho, Math.abs(o - (i === j ? 1 : 0)));
    }
  }
  const ascending = w.every((x, k) => k === 0 || x >= w[k - 1]);
  return { recon: recon / Math.max(scale, 1e-300), ortho, ascending };
}

test('eigh: random symmetric matrices are V·diag(w)·Vᵀ with orthonormal V and ascending w (float64)', () => {
  for (const [n, seed] of [[1, 1], [2, 2], [5, 3], [17, 4], [64, 5]]) {
    const a = randomSymmetric(n, seed);
    const { w, v } = decompose(a, n);
    const r = residuals(a, n, w, v);
    assert.ok(r.recon < 1e-13, `n=${n}: reconstruction ${r.recon}`);
    assert.ok(r.ortho < 1e-13, `n=${n}: orthonormality ${r.ortho}`);
    assert.ok(r.ascending, `n=${n}: eigenvalues not ascending: ${w}`);
  }
});

test('eigh: float32 to float32 precision', () => {
  const n = 12;
  const a = randomSymmetric(n, 9);
  const { w, v } = decompose(a, n, 'L', 'float32');
  const r = residuals(a, n, w, v);
  assert.ok(r.recon < 1e-5 && r.ortho < 1e-5 && r.ascending, JSON.stringify(r));
});

test('eigh: the second-difference matrix has its closed-form spectrum 2 − 2cos(kπ/(n+1)) and sine eigenvectors', () => {
  const n = 9;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    a[i * n + i] = 2;
    if (i + 1 < n) a[i * n + i + 1] = a[(i + 1) * n + i] = -1;
  }
  const { w, v } = decompose(a, n);
  for (let k = 1; k <= n; k++) {
    const lambda = 2 - 2 * Math.cos((k * Math.PI) / (n + 1));
    assert.ok(Math.abs(w[k - 1] - lambda) < 1e-13, `eigenvalue ${k}: ${w[k - 1]} vs ${lambda}`);
    // the eigenvector up to its sign: sqrt(2/(n+1))·sin(jkπ/(n+1))
    const exact = Array.from({ length: n }, (_, j) => Math.sqrt(2 / (n + 1)) * Math.sin(((j + 1) * k * Math.PI) / (n + 1)));
    const sign = Math.sign(v[0 * n + (k - 1)]) * Math.sign(exact[0]);
    exact.forEach((x, j) => assert.ok(Math.abs(sign * v[j * n + (k - 1)] - x) < 1e-12, `eigenvector ${k}[${j}]`));
  }
  // [[2, 1], [1, 2]]: 1 and 3
  const two = decompose(Float64Array.from([2, 1, 1, 2]), 2);
  assert.ok(Math.abs(two.w[0] - 1) < 1e-15 && Math.abs(two.w[1] - 3) < 1e-15, `${two.w}`);
});

test('eigh: a repeated eigenvalue still gives an orthonormal basis', () => {
  const n = 6;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = i < 3 ? 3 : -1;
  const { w, v } = decompose(a, n);
  [-1, -1, -1, 3, 3, 3].forEach((x, k) => assert.ok(Math.abs(w[k] - x) < 1e-15, `eigenvalue ${k}: ${w[k]}`));
  const r = residuals(a, n, w, v);
  assert.ok(r.recon < 1e-15 && r.ortho < 1e-15, JSON.stringify(r));
});

test("eigh: uplo 'L' reads only the lower triangle, 'U' only the upper", () => {
  const n = 5;
  const a = randomSymmetric(n, 11);
  const lowerOnly = Float64Array.from(a);
  const upperOnly = Float64Array.from(a);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j > i) lowerOnly[i * n + j] = 1e6; // garbage where 'L' must not look
      if (j < i) upperOnly[i * n + j] = -1e6;
    }
  }
  const ref = decompose(a, n);
  for (const [m, uplo] of [[lowerOnly, 'L'], [upperOnly, 'U']] as const) {
    const { w } = decompose(m, n, uplo);
    w.forEach((x, k) => assert.ok(Math.abs(x - ref.w[k]) < 1e-12, `${uplo}: eigenvalue ${k} ${x} vs ${ref.w[k]}`));
  }
});

test('eigh: a batch [b, n, n] is decomposed matrix by matrix', () => {
  const n = 4;
  const mats = [randomSymmetric(n, 21), randomSymmetric(n, 22), randomSymmetric(n, 23)];
  const batch = new Float64Array(3 * n * n);
  mats.forEach((m, b) => batch.set(m, b * n * n));
  tg.tidy(() => {
    const { eigenvalues, eigenvectors } = tg.linalg.eigh(tg.tensor(batch, [3, n, n], { dtype: 'float64' }));
    assert.equal(eigenvalues.shape, [3, n]);
    assert.equal(eigenvectors.shape, [3, n, n]);
    const w = eigenvalues.data() as Float64Array;
    const v = eigenvectors.contiguous().data() as Float64Array;
    mats.forEach((m, b) => {
      const r = residuals(m, n, w.subarray(b * n, (b + 1) * n), v.subarray(b * n * n, (b + 1) * n * n));
      assert.ok(r.recon < 1e-13 && r.ortho < 1e-13 && r.ascending, `matrix ${b}: ${JSON.stringify(r)}`);
    });
  });
});

test('eigh: a wrong input is refused naming the argument, what was expected and what was received', () => {
  const cases: [() => unknown, typeof TypeError | typeof TorchError, RegExp][] = [
    [() => tg.linalg.eigh(tg.zeros([3])), TorchError, /^linalgEigh\(\): argument 'self' must be a Tensor of square matrices \[\.\.\., n, n\], received a float32 Tensor of shape \[3\]/],
    [() => tg.linalg.eigh(tg.zeros([2, 3])), TorchError, /argument 'self' must be a Tensor of square matrices .*, received a float32 Tensor of shape \[2, 3\]/],
    [() => tg.linalg.eigh(tg.zeros([2, 2], { dtype: 'int64' })), TorchError, /argument 'self' must be a float32 or float64 Tensor, received an int64 Tensor of shape \[2, 2\]/],
    [() => tg.linalg.eigh(tg.eye(2), 'X' as never), TorchError, /argument 'uplo' must be 'L' \(the lower triangle\) or 'U' \(the upper\), received string 'X'/],
    [() => tg.linalg.eigh(3 as never), TorchError, /argument 'self' must be a Tensor, received number 3/],
    [() => { const t = tg.eye(2); t.dispose(); return tg.linalg.eigh(t); }, TorchError, /argument 'self' is a disposed Tensor/],
  ];
  for (const [call, cls, msg] of cases) {
    const before = tg.memory().tensors;
    let err: unknown;
    try {
      tg.tidy(() => void call());
    } catch (e) {
      err = e;
    }
    assert.instance(err, cls, String(err));
    assert.is((err as TorchError).code, msg.source.includes('disposed') ? 'ERR_TENSOR_DISPOSED' : 'ERR_INVALID_ARG', String(err));
    assert.match((err as Error).message, msg);
    assert.is(tg.memory().tensors, before);
  }
});

test('eigh: the result is a pair of new tensors the caller owns', () => {
  const before = tg.memory().tensors;
  const a = tg.eye(3, undefined, { dtype: 'float64' });
  const r = tg.linalg.eigh(a);
  assert.instance(r.eigenvalues, Tensor);
  assert.is(tg.memory().tensors, before + 3);
  a.dispose();
  r.eigenvalues.dispose();
  r.eigenvectors.dispose();
  assert.is(tg.memory().tensors, before);
});

test.run();
