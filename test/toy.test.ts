import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  sampleToy, toyTensor, ToySampler, modeStats, toyCenters,
  EIGHT_GAUSSIANS_CENTERS, TWENTY_FIVE_GAUSSIANS_CENTERS, TOY_MODE_STD,
} from '../lib/data/toy';
import { Rng, permutation } from '../lib/data/random';

const N = 16000;

test('8 gaussians: centres on a circle of radius 2/1.414 at k·45°', () => {
  assert.is(EIGHT_GAUSSIANS_CENTERS.length, 8);
  EIGHT_GAUSSIANS_CENTERS.forEach(([x, y], k) => {
    assert.ok(Math.abs(Math.hypot(x, y) - 2 / 1.414) < 1e-12);
    const a = (Math.atan2(y, x) * 180) / Math.PI;
    assert.ok(Math.abs(((a - k * 45 + 540) % 360) - 180) < 1e-9, `centre ${k} at ${a}°`);
  });
});

test('8 gaussians: 8 equally used modes, radius, per-mode std', () => {
  const p = sampleToy('8gaussians', N, { seed: 1 });
  assert.is(p.length, 2 * N);
  const s = modeStats(p, EIGHT_GAUSSIANS_CENTERS, { threshold: 6 * TOY_MODE_STD['8gaussians'] });
  assert.is(s.modesCovered, 8);
  assert.is(s.highQuality, 1);
  for (const c of s.counts) assert.ok(Math.abs(c / N - 1 / 8) < 0.015, `mode share ${c / N}`);
  let r = 0;
  for (let i = 0; i < N; i++) r += Math.hypot(p[2 * i], p[2 * i + 1]);
  assert.ok(Math.abs(r / N - 2 / 1.414) < 0.002, `mean radius ${r / N}`);
  // per-coordinate std around the nearest centre: 0.02 / 1.414
  let ss = 0;
  for (let i = 0; i < N; i++) {
    let best = Infinity;
    for (const [cx, cy] of EIGHT_GAUSSIANS_CENTERS) best = Math.min(best, (p[2 * i] - cx) ** 2 + (p[2 * i + 1] - cy) ** 2);
    ss += best;
  }
  const std = Math.sqrt(ss / (2 * N));
  assert.ok(Math.abs(std / (0.02 / 1.414) - 1) < 0.03, `std ${std}`);
  // whole-set std is about 1 (the /1.414 normalisation)
  let sx = 0;
  for (let i = 0; i < N; i++) sx += p[2 * i] ** 2 + p[2 * i + 1] ** 2;
  assert.ok(Math.abs(Math.sqrt(sx / (2 * N)) - 1) < 0.01);
});

test('25 gaussians: grid -4..4 step 2 divided by 2.828, all 25 modes, std 0.05/2.828', () => {
  assert.is(TWENTY_FIVE_GAUSSIANS_CENTERS.length, 25);
  const xs = [...new Set(TWENTY_FIVE_GAUSSIANS_CENTERS.map((c) => +(c[0] * 2.828).toFixed(9)))].sort((a, b) => a - b);
  assert.equal(xs, [-4, -2, 0, 2, 4]);
  const p = sampleToy('25gaussians', N, { seed: 2 });
  const s = modeStats(p, TWENTY_FIVE_GAUSSIANS_CENTERS, { threshold: 6 * TOY_MODE_STD['25gaussians'] });
  assert.is(s.modesCovered, 25);
  assert.ok(s.highQuality > 0.999);
  for (const c of s.counts) assert.ok(Math.abs(c / N - 1 / 25) < 0.01);
  assert.ok(Math.abs(s.meanDistance / (TOY_MODE_STD['25gaussians'] * Math.sqrt(Math.PI / 2)) - 1) < 0.03, `mean distance ${s.meanDistance}`);
});

test('swiss roll: (x, z) of t·(cos t, sin t), t in [1.5π, 4.5π], noise 0.25, /7.5', () => {
  const p = sampleToy('swissroll', N, { seed: 3 });
  let rmin = Infinity, rmax = 0, resid = 0;
  for (let i = 0; i < N; i++) {
    const x = p[2 * i] * 7.5, z = p[2 * i + 1] * 7.5;
    const r = Math.hypot(x, z);
    rmin = Math.min(rmin, r);
    rmax = Math.max(rmax, r);
    // distance to the spiral: radius r should be t with angle ≡ t (mod 2π)
    const a = Math.atan2(z, x);
    let best = Infinity;
    for (let k = -1; k <= 3; k++) {
      const t = a + 2 * Math.PI * k;
      if (t >= 1.5 * Math.PI - 1 && t <= 4.5 * Math.PI + 1) best = Math.min(best, Math.abs(r - t));
    }
    resid += best * best;
  }
  assert.ok(rmin > 1.5 * Math.PI - 1.5 && rmin < 1.5 * Math.PI + 0.2, `rmin ${rmin}`);
  assert.ok(rmax < 4.5 * Math.PI + 1.5 && rmax > 4.5 * Math.PI - 0.2, `rmax ${rmax}`);
  const rms = Math.sqrt(resid / N);
  assert.ok(rms > 0.15 && rms < 0.35, `rms distance to the spiral ${rms} (noise 0.25)`);
});

test('seeded: same seed same points; samplers continue their stream and restore from stateDict', () => {
  assert.equal([...sampleToy('8gaussians', 50, { seed: 7 })], [...sampleToy('8gaussians', 50, { seed: 7 })]);
  assert.not.equal([...sampleToy('8gaussians', 50, { seed: 7 })], [...sampleToy('8gaussians', 50, { seed: 8 })]);
  const a = new ToySampler('swissroll', { seed: 4 });
  a.sample(33);
  const state = JSON.parse(JSON.stringify(a.stateDict()));
  const next = [...a.sample(20)];
  const b = new ToySampler('swissroll', { seed: 99 });
  b.loadStateDict(state);
  assert.equal([...b.sample(20)], next);
  assert.throws(() => new ToySampler('8gaussians').loadStateDict(state), /swissroll/);
});

test('tensors, centres, errors', () => {
  const t = toyTensor('25gaussians', 64, { seed: 1 });
  assert.equal(t.shape, [64, 2]);
  assert.is(t.dtype, 'float32');
  assert.equal(t.toArray(), [...sampleToy('25gaussians', 64, { seed: 1 })]);
  assert.is(toyCenters('8gaussians')!.length, 8);
  assert.is(toyCenters('swissroll'), null);
  assert.throws(() => sampleToy('9gaussians' as '8gaussians', 3), /8gaussians, 25gaussians, swissroll/);
  assert.throws(() => sampleToy('8gaussians', -1), /non-negative integer/);
});

test('Rng: uniform moments, unbiased ints, normal moments, permutations', () => {
  const r = new Rng(123);
  let s = 0, s2 = 0;
  const M = 20000;
  for (let i = 0; i < M; i++) {
    const v = r.normal();
    s += v;
    s2 += v * v;
  }
  assert.ok(Math.abs(s / M) < 0.03 && Math.abs(s2 / M - 1) < 0.04);
  const counts = new Array(3).fill(0);
  for (let i = 0; i < 9000; i++) counts[r.int(3)]++;
  for (const c of counts) assert.ok(Math.abs(c - 3000) < 200);
  const p = permutation(100, new Rng(5));
  assert.equal([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
});

test.run();
