// A small seeded PRNG for data pipelines (shuffling, toy data), independent of
// the torch generator so data order is reproducible whatever the model draws.
// Generator: mulberry32 (32-bit state, period 2^32), seeded through splitmix32.
import { invalidParameterError, is } from '../errors';

/** Mixes a 32-bit integer (splitmix32 finaliser). */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Derives a 32-bit seed from several integers (e.g. seed and epoch). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 2 ** 32) >>> 0;
    h = mix32(h ^ lo);
    h = mix32(h ^ hi);
  }
  return h;
}

/** Seeded PRNG: uniform floats in [0, 1), integers, standard normals (Box-Muller). State is one uint32. */
export class Rng {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) {
    if (!is.nonNegativeInteger(seed)) throw invalidParameterError('seed', 'a non-negative integer', seed);
    this.s = deriveSeed(seed);
  }
  /** uint32 */
  nextU32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** [0, 1) with 32 random bits */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }
  /** An integer in [0, n) without modulo bias (n <= 2^32). */
  int(n: number): number {
    if (n <= 1) return 0;
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.nextU32(); while (x >= limit);
    return x % n;
  }
  /** N(0, 1) by Box-Muller (pairs are cached). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** The generator's state, for checkpoints. */
  getState(): { s: number; spare: number | null } {
    return { s: this.s >>> 0, spare: this.spare };
  }
  setState(state: { s: number; spare: number | null }): void {
    if (!is.plainObject(state) || !is.nonNegativeInteger(state.s) || !(state.spare === null || is.finite(state.spare))) {
      throw invalidParameterError('state', '{s: uint32, spare: number | null} from getState()', state);
    }
    this.s = state.s | 0;
    this.spare = state.spare;
  }
}

/** A random permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
