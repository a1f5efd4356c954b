// The truncation trick: every entry within [-ψ, ψ], and the values distributed as a normal
// truncated there (variance and inner-band mass against values computed here by numerical
// integration, not by the library's own formula).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { truncatedNoise, truncatedNormalVariance } from '../lib/gan/truncation';

const density = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
/** ∫_a^b f by composite Simpson with 20,000 panels. */
function integrate(f: (x: number) => number, a: number, b: number): number {
  const n = 20000;
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

test('truncatedNormalVariance equals the numerically integrated variance', () => {
  for (const psi of [0.1, 0.5, 1, 2, 3.5]) {
    const mass = integrate(density, -psi, psi);
    const v = integrate((x) => x * x * density(x), -psi, psi) / mass;
    const got = truncatedNormalVariance(psi);
    assert.ok(Math.abs(got - v) < 1e-10, `psi ${psi}: ${got} vs ${v}`);
  }
  assert.is(truncatedNormalVariance(Infinity), 1);
});

for (const psi of [0.5, 1, 2]) {
  test(`truncatedNoise(psi = ${psi}): all |z| <= psi; variance and inner-band mass match the truncated normal`, () => {
    tg.manualSeed(17);
    const n = 400_000;
    const z = truncatedNoise([n / 4, 4], psi, { dtype: 'float64' });
    assert.equal(z.shape, [n / 4, 4]);
    assert.is(z.dtype, 'float64');
    assert.is(z.requiresGrad, false);
    const a = z.toArray();
    let max = 0;
    let m1 = 0;
    let m2 = 0;
    let m4 = 0;
    let inner = 0;
    for (const x of a) {
      max = Math.max(max, Math.abs(x));
      m1 += x;
      m2 += x * x;
      m4 += x ** 4;
      if (Math.abs(x) <= psi / 2) inner++;
    }
    m1 /= n;
    m2 /= n;
    m4 /= n;
    assert.ok(max <= psi, `max |z| = ${max} > ${psi}`);
    const mass = integrate(density, -psi, psi);
    const variance = integrate((x) => x * x * density(x), -psi, psi) / mass;
    // 5 standard errors of the sample mean, sample variance and a binomial fraction
    const seVar = Math.sqrt((m4 - m2 * m2) / n);
    assert.ok(Math.abs(m2 - m1 * m1 - variance) < 5 * seVar, `variance ${m2 - m1 * m1} vs ${variance} (se ${seVar})`);
    assert.ok(Math.abs(m1) < 5 * Math.sqrt(variance / n), `mean ${m1}`);
    const p = integrate(density, -psi / 2, psi / 2) / mass;
    const frac = inner / n;
    assert.ok(Math.abs(frac - p) < 5 * Math.sqrt((p * (1 - p)) / n), `P(|z| <= psi/2) ${frac} vs ${p}`);
    // a plain N(0, 1) sample would fail these: its variance is 1
    assert.ok(Math.abs(variance - 1) > 10 * seVar, 'the test can tell truncated from untruncated');
    z.dispose();
  });
}

test('truncatedNoise: reproducible under manualSeed, psi = Infinity is randn, bad input refused, nothing leaks', () => {
  tg.manualSeed(3);
  const a = truncatedNoise([5, 3], 0.7);
  tg.manualSeed(3);
  const b = truncatedNoise([5, 3], 0.7);
  assert.equal(a.toArray(), b.toArray());
  tg.manualSeed(4);
  const c = truncatedNoise([2, 3], Infinity);
  tg.manualSeed(4);
  assert.equal(c.toArray(), tg.randn([2, 3]).toArray());
  assert.throws(() => truncatedNoise([2, 2], 0), /positive number \(the truncation threshold\) for psi but received number 0/);
  assert.throws(() => truncatedNoise([2, -1], 1), /non-negative integers for shape/);
  assert.throws(() => truncatedNoise([2, 2], 1, { maxRound: 3 } as never), /Unknown option 'maxRound'/);
  assert.throws(() => truncatedNoise([1000], 1e-4, { maxRounds: 3 }), /remained after 3 redraw rounds/);
  truncatedNoise([4], 0.5).dispose();
  const before = tg.memory().tensors;
  truncatedNoise([64, 8], 0.3).dispose();
  try { truncatedNoise([1000], 1e-4, { maxRounds: 2 }); } catch { /* expected */ }
  assert.is(tg.memory().tensors, before, 'live tensors');
});

test.run();
