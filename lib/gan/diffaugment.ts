// DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
// the same random, differentiable augmentations applied to every image the critic sees, real and
// fake, in the critic's and the generator's steps alike, so the critic cannot overfit a small
// dataset and the generator still gets gradients through the augmentation.
//
// The operations follow the authors' PyTorch code (mit-han-lab/data-efficient-gans,
// DiffAugment-stylegan2-pytorch/DiffAugment_pytorch.py), one draw per sample:
//   color:       x + (b − 0.5);  then (x − mean_c)·2s + mean_c;  then (x − mean_chw)·(c + 0.5) + mean_chw
//                with b, s, c ~ U[0, 1) and means over channels / over channels and pixels
//   translation: shift by (tx, ty) ∈ [−r, r]² pixels, r = int(size·ratio + 0.5) (ratio 1/8), zero fill
//   cutout:      zero a rectangle of int(size·ratio + 0.5) (ratio 1/2) centred at a random pixel,
//                clipped at the border
// The reference gathers from a 1-pixel zero-padded copy with clamped indices; here the source
// index is clamped into the image and the out-of-image pixels multiplied by 0, the same values
// and gradients without a pad. With torch's generator (the default) the draws are made in the
// reference's order and kind (rand of x's dtype, randint), so on CPU with the same manualSeed
// the result equals the reference's.
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { arange, rand, randint, tensor } from '../tensor/creation';
import { isFloatingDtype } from '../tensor/dtype';
import { Rng } from '../data/random';
import { callCritic, Critic } from './penalties';

export type DiffAugmentOp = 'color' | 'translation' | 'cutout';
export const DIFF_AUGMENT_OPS: readonly DiffAugmentOp[] = ['color', 'translation', 'cutout'];

/** Fixed draws, one number per sample for each operation the policy uses. */
export interface DiffAugmentDraws {
  /** U[0, 1) each */
  brightness?: number[];
  saturation?: number[];
  contrast?: number[];
  /** integer shifts along H and W, in [−r, r] */
  translationX?: number[];
  translationY?: number[];
  /** integer cutout centres along H and W, in [0, H + 1 − cutH % 2) (and likewise for W) */
  cutoutX?: number[];
  cutoutY?: number[];
}

export interface DiffAugmentOptions {
  /** draw from this seeded JS generator instead of torch's (reproducible whatever else draws) */
  rng?: Rng;
  /** use these draws (tests, replaying a reference); every one the policy needs must be given */
  draws?: DiffAugmentDraws;
  /** the largest shift as a fraction of the size (default 0.125) */
  translationRatio?: number;
  /** the cutout size as a fraction of the size (default 0.5) */
  cutoutRatio?: number;
}
const OPTION_KEYS = ['rng', 'draws', 'translationRatio', 'cutoutRatio'] as const;

/** 'color,translation,cutout' -> the operations, checked; '' -> none. */
export function parseDiffAugmentPolicy(policy: string | readonly DiffAugmentOp[]): DiffAugmentOp[] {
  const parts = Array.isArray(policy) ? [...policy] : is.string(policy) ? (policy.trim() === '' ? [] : policy.split(',').map((p) => p.trim())) : null;
  if (parts === null) throw invalidParameterError('policy', "a comma-separated string such as 'color,translation,cutout' or an array of operations", policy);
  for (const p of parts) {
    if (!is.oneOf(p, DIFF_AUGMENT_OPS)) throw invalidParameterError('policy', `operations among ${DIFF_AUGMENT_OPS.map((o) => `'${o}'`).join(', ')}`, p);
  }
  return parts as DiffAugmentOp[];
}

/** Where the random numbers come from. */
interface Source {
  /** [N, 1, 1, 1] in x's dtype, U[0, 1) */
  uniform(key: 'brightness' | 'saturation' | 'contrast'): Tensor;
  /** [N, 1, 1] int64, integers in [lo, hi) */
  integers(key: 'translationX' | 'translationY' | 'cutoutX' | 'cutoutY', lo: number, hi: number): Tensor;
}

function source(x: Tensor, o: DiffAugmentOptions): Source {
  const n = x.shape[0];
  const fo = { dtype: x.dtype, device: x.device };
  if (o.draws !== undefined) {
    const d = o.draws;
    if (!is.plainObject(d)) throw invalidParameterError('options.draws', 'an object of per-sample draws', d);
    checkOptionKeys('diffAugment() options.draws', d, ['brightness', 'saturation', 'contrast', 'translationX', 'translationY', 'cutoutX', 'cutoutY']);
    const get = (key: keyof DiffAugmentDraws, ok: (v: unknown) => boolean, what: string): number[] => {
      const a = d[key];
      if (!Array.isArray(a) || a.length !== n || !a.every(ok)) throw invalidParameterError(`options.draws.${key}`, `an array of ${n} ${what} (one per sample)`, a);
      return a;
    };
    return {
      uniform: (key) => tensor(Float64Array.from(get(key, (v) => is.finite(v) && v >= 0 && v < 1, 'numbers in [0, 1)')), [n, 1, 1, 1], fo),
      integers: (key, lo, hi) =>
        tensor(Float64Array.from(get(key, (v) => is.integer(v) && (v as number) >= lo && (v as number) < hi, `integers in [${lo}, ${hi})`)), [n, 1, 1], { dtype: 'int64', device: x.device }),
    };
  }
  if (o.rng !== undefined) {
    const rng = o.rng;
    if (!(rng instanceof Rng)) throw invalidParameterError('options.rng', 'an Rng (data.Rng)', rng);
    const draw = (f: () => number) => Float64Array.from({ length: n }, f);
    return {
      uniform: () => tensor(draw(() => rng.uniform()), [n, 1, 1, 1], fo),
      integers: (_key, lo, hi) => tensor(draw(() => lo + rng.int(hi - lo)), [n, 1, 1], { dtype: 'int64', device: x.device }),
    };
  }
  return {
    uniform: () => rand([n, 1, 1, 1], fo),
    integers: (_key, lo, hi) => randint(lo, hi, [n, 1, 1], { device: x.device }),
  };
}

function ratio(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (!is.finite(v) || v < 0 || v > 1) throw invalidParameterError(name, 'a number in [0, 1]', v);
  return v;
}

/** Brightness, saturation, contrast (the reference's rand_brightness, rand_saturation, rand_contrast). */
function color(x: Tensor, src: Source): Tensor {
  const b = x.add(src.uniform('brightness').sub(0.5));
  const m1 = b.mean(1, true);
  const s = b.sub(m1).mul(src.uniform('saturation').mul(2)).add(m1);
  const m2 = s.mean([1, 2, 3], true);
  return s.sub(m2).mul(src.uniform('contrast').add(0.5)).add(m2);
}

/**
 * A [N, size, 1] or [N, 1, size] grid along one axis plus a per-sample [N, 1, 1] integer offset,
 * in float64: the binding's clamp(min, max) turns an int64 tensor into float32 (its bounds go in
 * as floating scalars), which would round large indices; float64 holds them exactly.
 */
function axis(size: number, offset: Tensor, along: 1 | 2): Tensor {
  const a = arange(0, size, 1, { dtype: 'float64', device: offset.device }).reshape(along === 1 ? [1, size, 1] : [1, 1, size]);
  return a.add(offset.to(undefined, 'float64'));
}

function translation(x: Tensor, src: Source, r: number): Tensor {
  const [n, c, h, w] = x.shape;
  const sx = Math.trunc(h * r + 0.5);
  const sy = Math.trunc(w * r + 0.5);
  const rows = axis(h, src.integers('translationX', -sx, sx + 1), 1); // source row of output row i: i + tx
  const cols = axis(w, src.integers('translationY', -sy, sy + 1), 2);
  const inside = (t: Tensor, size: number) => t.ge(0).to(undefined, x.dtype).mul(t.lt(size).to(undefined, x.dtype));
  const valid = inside(rows, h).mul(inside(cols, w)).unsqueeze(1); // [N, 1, H, W]
  const flat = rows.clamp(0, h - 1).mul(w).add(cols.clamp(0, w - 1)).to(undefined, 'int64');
  const idx = flat.reshape(n, 1, h * w).expand(n, c, h * w);
  return x.reshape(n, c, h * w).gather(2, idx).reshape(n, c, h, w).mul(valid);
}

function cutout(x: Tensor, src: Source, r: number): Tensor {
  const [, , h, w] = x.shape;
  const ch = Math.trunc(h * r + 0.5);
  const cw = Math.trunc(w * r + 0.5);
  // the reference's offsets are centres: the box is [o − size//2, o − size//2 + size), clipped
  const ox = src.integers('cutoutX', 0, h + (1 - (ch % 2)));
  const oy = src.integers('cutoutY', 0, w + (1 - (cw % 2)));
  const band = (size: number, o: Tensor, len: number, along: 1 | 2) => {
    const d = axis(size, o.neg().add(Math.floor(len / 2)), along); // i − (o − len//2)
    return d.ge(0).to(undefined, x.dtype).mul(d.lt(len).to(undefined, x.dtype));
  };
  const box = band(h, ox, ch, 1).mul(band(w, oy, cw, 2)); // [N, H, W], 1 inside the box
  return x.mul(box.rsub(1).unsqueeze(1));
}

/**
 * Applies the DiffAugment policy to a batch of images x [N, C, H, W] (differentiable in x).
 * policy: a comma-separated list such as 'color,translation,cutout' (applied in that order) or
 * an array; '' applies nothing (a new handle to x is returned). Each call draws anew (unless
 * options.draws is given): use the same policy for the real and the fake batch (see
 * withDiffAugment). Intermediate tensors are freed before it returns.
 */
export function diffAugment(x: Tensor, policy: string | readonly DiffAugmentOp[], options: DiffAugmentOptions = {}): Tensor {
  const where = 'diffAugment()';
  if (!(x instanceof Tensor)) throw invalidParameterError('x', 'a Tensor [N, C, H, W]', x);
  if (x.ndim !== 4) throw invalidParameterError('x', 'a batch of images [N, C, H, W]', `a tensor of shape [${x.shape}]`);
  if (!isFloatingDtype(x.dtype)) throw invalidParameterError('x', 'a floating-point Tensor', `a ${x.dtype} tensor`);
  const ops = parseDiffAugmentPolicy(policy);
  checkOptionKeys(where, options, OPTION_KEYS);
  const tr = ratio(`${where} options.translationRatio`, options.translationRatio, 0.125);
  const cr = ratio(`${where} options.cutoutRatio`, options.cutoutRatio, 0.5);
  if (ops.length === 0) return x.index();
  return tidy(() => {
    const src = source(x, options);
    let y = x;
    for (const op of ops) y = op === 'color' ? color(y, src) : op === 'translation' ? translation(y, src, tr) : cutout(y, src, cr);
    return y.contiguous();
  });
}

/** A critic wrapped so that every batch it sees goes through diffAugment first. */
export interface AugmentedCritic {
  forward(x: Tensor): Tensor;
  /** the wrapped critic, for the penalties' batch-norm check */
  namedChildren(): [string, unknown][];
  readonly policy: DiffAugmentOp[];
}

/**
 * The critic behind DiffAugment: forward(x) = critic(diffAugment(x, policy)). Use it for the
 * real batch, the fake batch and the generator's step alike (the paper's recipe: the same policy
 * everywhere). It composes with the penalties: r1Penalty(withDiffAugment(D, p), real) takes the
 * gradient with respect to the un-augmented reals, as StyleGAN2-ADA does.
 */
export function withDiffAugment(critic: Critic, policy: string | readonly DiffAugmentOp[], options: DiffAugmentOptions = {}): AugmentedCritic {
  const ops = parseDiffAugmentPolicy(policy);
  checkOptionKeys('withDiffAugment()', options, OPTION_KEYS);
  return {
    policy: ops,
    forward(x: Tensor): Tensor {
      const a = diffAugment(x, ops, options);
      try {
        return callCritic(critic, a);
      } finally {
        a.dispose();
      }
    },
    namedChildren: () => [['critic', critic]],
  };
}
