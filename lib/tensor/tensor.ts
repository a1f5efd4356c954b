// The Tensor: a thin JS object over a native handle. Every method is one native
// call; argument checking and errors happen natively (they name the parameter).
import { N, NativeHandle } from '../native';
import { invalidParameterError } from '../errors';
import { track, keep as keepTensor } from './scope';
import { checkDevice, checkDtype, Device, DType } from './dtype';

export type Scalar = number | boolean;
/**
 * How a 4-D tensor's elements lie in memory: 'contiguous' is row-major NCHW, 'channelsLast' is NHWC
 * (PyTorch's torch.channels_last), the layout oneDNN's CPU convolutions run in without reordering.
 * Only the layout differs: shape, indexing and values are the same either way.
 */
export type MemoryFormat = 'contiguous' | 'channelsLast';
export type TensorLike = Tensor | Scalar;
/** A slice for index(): ':' | 'a:b' | 'a:b:s' | {start, end, step} | a number (select) | null (new axis) */
export type IndexSpec = number | string | null | { start?: number; end?: number; step?: number };

/** A Tensor argument as its native handle; numbers and booleans pass as they are. */
function u(x: Tensor): NativeHandle;
function u<T extends Scalar>(x: Tensor | T): NativeHandle | T;
function u(x: TensorLike): NativeHandle | Scalar {
  return x instanceof Tensor ? x._h : x;
}

export class Tensor {
  /** @internal the native handle */
  readonly _h: NativeHandle;

  /** @internal use the creation functions (tensor, zeros, randn, ...) */
  constructor(handle: NativeHandle) {
    this._h = handle;
    track(this);
  }

  // ---- metadata
  // A handle's shape, dtype and device never change (no binding resizes a tensor in place), so
  // each is read natively once and cached; a freed tensor asks natively again, which throws.
  private _shape: number[] | undefined = undefined;
  private _numel = -1;
  private _dtype: DType | undefined = undefined;
  private _device: Device | undefined = undefined;
  get shape(): number[] {
    if (this._shape === undefined || this._freed) this._shape = N.shape(this._h);
    return this._shape.slice();
  }
  get ndim(): number {
    if (this._shape === undefined || this._freed) this._shape = N.shape(this._h);
    return this._shape.length;
  }
  get dtype(): DType {
    if (this._dtype === undefined || this._freed) this._dtype = N.dtype(this._h);
    return this._dtype;
  }
  get device(): Device {
    if (this._device === undefined || this._freed) this._device = N.device(this._h);
    return this._device;
  }
  numel(): number {
    if (this._numel < 0 || this._freed) this._numel = N.numel(this._h);
    return this._numel;
  }
  size(dim?: number): number | number[] {
    const s = this.shape;
    if (dim === undefined) return s;
    return s[dim < 0 ? s.length + dim : dim];
  }
  /** Whether the elements lie densely in memoryFormat's order (default 'contiguous': row-major). */
  isContiguous(memoryFormat?: MemoryFormat): boolean { return N.isContiguous(this._h, memoryFormat); }
  /** The layout libtorch's kernels give this tensor's outputs: 'channelsLast' when its strides are NHWC's. */
  suggestMemoryFormat(): MemoryFormat { return N.suggestMemoryFormat(this._h); }

  // ---- lifetime
  /** @internal set once this object has freed its handle: later disposals cost no native call */
  _freed = false;

  /** Frees the native tensor now. Idempotent. */
  dispose(): void {
    if (this._freed) return;
    this._freed = true;
    N.dispose(this._h);
  }
  get isDisposed(): boolean { return N.isDisposed(this._h); }
  /** Excludes this tensor from enclosing tidy() scopes. */
  keep(): this { return keepTensor(this); }

  // ---- reading
  /** The single value as a number (bool tensors read as 1 or 0). */
  item(): number { return N.item(this._h); }
  /** A typed-array copy (float16/bfloat16 as Float32Array, int64 as BigInt64Array, bool as Uint8Array). */
  data(): Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array { return N.data(this._h); }
  /** Like data(), copied on a worker thread so the event loop is not blocked. */
  dataAsync(): Promise<Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array> { return N.dataAsync(this._h); }
  /** Values as a flat array of JS numbers. */
  toArray(): number[] { return Array.from(this.data() as ArrayLike<number | bigint>, Number); }
  toString(): string { return `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})\n${N.toString(this._h)}`; }

  // ---- conversion
  to(device?: Device | { device?: Device; dtype?: DType; copy?: boolean }, dtype?: DType): Tensor {
    let dev: Device | undefined;
    let copy = false;
    if (typeof device === 'object' && device !== null) {
      dtype = device.dtype;
      copy = device.copy ?? false;
      dev = device.device;
    } else dev = device;
    if (dev !== undefined) checkDevice('device', dev);
    if (dtype !== undefined) checkDtype('dtype', dtype);
    return new Tensor(N.to(this._h, dev, dtype, copy));
  }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }
  float(): Tensor { return this.to(undefined, 'float32'); }
  double(): Tensor { return this.to(undefined, 'float64'); }
  long(): Tensor { return this.to(undefined, 'int64'); }
  clone(): Tensor { return new Tensor(N.clone(this._h)); }
  detach(): Tensor { return new Tensor(N.detach(this._h)); }

  // ---- arithmetic (other: Tensor or number, broadcasting)
  add(other: TensorLike, alpha?: number): Tensor { return new Tensor(alpha === undefined ? N.add(this._h, u(other)) : N.add(this._h, u(other), alpha)); }
  sub(other: TensorLike): Tensor { return new Tensor(N.sub(this._h, u(other))); }
  mul(other: TensorLike): Tensor { return new Tensor(N.mul(this._h, u(other))); }
  div(other: TensorLike): Tensor { return new Tensor(N.div(this._h, u(other))); }
  pow(exponent: TensorLike): Tensor { return new Tensor(N.pow(this._h, u(exponent))); }
  remainder(other: TensorLike): Tensor { return new Tensor(N.remainder(this._h, u(other))); }
  /** other - this (for a number on the left: 1 - x is x.rsub(1)) */
  rsub(other: number): Tensor { return new Tensor(N.rsub(this._h, other)); }
  eq(other: TensorLike): Tensor { return new Tensor(N.eq(this._h, u(other))); }
  ne(other: TensorLike): Tensor { return new Tensor(N.ne(this._h, u(other))); }
  lt(other: TensorLike): Tensor { return new Tensor(N.lt(this._h, u(other))); }
  le(other: TensorLike): Tensor { return new Tensor(N.le(this._h, u(other))); }
  gt(other: TensorLike): Tensor { return new Tensor(N.gt(this._h, u(other))); }
  ge(other: TensorLike): Tensor { return new Tensor(N.ge(this._h, u(other))); }
  maximum(other: Tensor): Tensor { return new Tensor(N.maximum(this._h, u(other))); }
  minimum(other: Tensor): Tensor { return new Tensor(N.minimum(this._h, u(other))); }
  clamp(min?: number | null, max?: number | null): Tensor { return new Tensor(N.clamp(this._h, min, max)); }
  lerp(end: Tensor, weight: TensorLike): Tensor { return new Tensor(N.lerp(this._h, u(end), u(weight))); }

  // ---- unary math
  neg(): Tensor { return new Tensor(N.neg(this._h)); }
  abs(): Tensor { return new Tensor(N.abs(this._h)); }
  exp(): Tensor { return new Tensor(N.exp(this._h)); }
  log(): Tensor { return new Tensor(N.log(this._h)); }
  log1p(): Tensor { return new Tensor(N.log1p(this._h)); }
  expm1(): Tensor { return new Tensor(N.expm1(this._h)); }
  sqrt(): Tensor { return new Tensor(N.sqrt(this._h)); }
  rsqrt(): Tensor { return new Tensor(N.rsqrt(this._h)); }
  square(): Tensor { return new Tensor(N.square(this._h)); }
  reciprocal(): Tensor { return new Tensor(N.reciprocal(this._h)); }
  sin(): Tensor { return new Tensor(N.sin(this._h)); }
  cos(): Tensor { return new Tensor(N.cos(this._h)); }
  tanh(): Tensor { return new Tensor(N.tanh(this._h)); }
  sigmoid(): Tensor { return new Tensor(N.sigmoid(this._h)); }
  relu(): Tensor { return new Tensor(N.relu(this._h)); }
  leakyRelu(negativeSlope = 0.01): Tensor { return new Tensor(N.leakyRelu(this._h, negativeSlope)); }
  softplus(beta = 1, threshold = 20): Tensor { return new Tensor(N.softplus(this._h, beta, threshold)); }
  sign(): Tensor { return new Tensor(N.sign(this._h)); }
  floor(): Tensor { return new Tensor(N.floor(this._h)); }
  ceil(): Tensor { return new Tensor(N.ceil(this._h)); }
  round(): Tensor { return new Tensor(N.round(this._h)); }
  logicalNot(): Tensor { return new Tensor(N.logicalNot(this._h)); }
  isnan(): Tensor { return new Tensor(N.isnan(this._h)); }
  isfinite(): Tensor { return new Tensor(N.isfinite(this._h)); }

  // ---- reductions (dim omitted: over all elements)
  sum(dim?: number | number[], keepdim = false, dtype?: DType): Tensor { return new Tensor(N.sum(this._h, dim, keepdim, dtype)); }
  mean(dim?: number | number[], keepdim = false): Tensor { return new Tensor(N.mean(this._h, dim, keepdim)); }
  prod(dim?: number, keepdim = false): Tensor { return new Tensor(N.prod(this._h, dim, keepdim)); }
  /** Without dim: the maximum. With dim: [values, indices]. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [Tensor, Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    const r = N.max(this._h, dim, keepdim);
    return Array.isArray(r) ? [new Tensor(r[0]), new Tensor(r[1])] : new Tensor(r);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [Tensor, Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    const r = N.min(this._h, dim, keepdim);
    return Array.isArray(r) ? [new Tensor(r[0]), new Tensor(r[1])] : new Tensor(r);
  }
  argmax(dim?: number, keepdim = false): Tensor { return new Tensor(N.argmax(this._h, dim, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return new Tensor(N.argmin(this._h, dim, keepdim)); }
  std(dim?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(N.std(this._h, dim, opts.unbiased ?? true, opts.keepdim ?? false));
  }
  var(dim?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(N.var(this._h, dim, opts.unbiased ?? true, opts.keepdim ?? false));
  }
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor { return new Tensor(N.norm(this._h, p, dim, keepdim)); }
  all(): Tensor { return new Tensor(N.all(this._h)); }
  any(): Tensor { return new Tensor(N.any(this._h)); }
  cumsum(dim: number): Tensor { return new Tensor(N.cumsum(this._h, dim)); }
  sort(dim = -1, descending = false): [Tensor, Tensor] {
    const [v, i] = N.sort(this._h, dim, descending);
    return [new Tensor(v), new Tensor(i)];
  }
  topk(k: number, dim = -1): [Tensor, Tensor] {
    const [v, i] = N.topk(this._h, k, dim);
    return [new Tensor(v), new Tensor(i)];
  }
  matmul(other: Tensor): Tensor { return new Tensor(N.matmul(this._h, u(other))); }
  mm(other: Tensor): Tensor { return new Tensor(N.mm(this._h, u(other))); }
  outer(other: Tensor): Tensor { return new Tensor(N.outer(this._h, u(other))); }

  // ---- shape
  // The dims go to the binding as separate arguments when given that way: cheaper to read than an array.
  reshape(...shape: number[] | [number[]]): Tensor {
    return new Tensor(Array.isArray(shape[0]) || shape.length === 0 ? N.reshape(this._h, flatShape(shape)) : N.reshape(this._h, ...shape));
  }
  view(...shape: number[] | [number[]]): Tensor {
    return new Tensor(Array.isArray(shape[0]) || shape.length === 0 ? N.view(this._h, flatShape(shape)) : N.view(this._h, ...shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor { return new Tensor(N.flatten(this._h, startDim, endDim)); }
  squeeze(dim?: number): Tensor { return new Tensor(N.squeeze(this._h, dim)); }
  unsqueeze(dim: number): Tensor { return new Tensor(N.unsqueeze(this._h, dim)); }
  permute(...dims: number[] | [number[]]): Tensor { return new Tensor(N.permute(this._h, flatShape(dims))); }
  transpose(dim0: number, dim1: number): Tensor { return new Tensor(N.transpose(this._h, dim0, dim1)); }
  t(): Tensor { return this.transpose(0, 1); }
  /**
   * A tensor with these values laid out densely in memoryFormat (default 'contiguous': row-major);
   * a new Tensor object over the same storage when already so. 'channelsLast' needs a 4-D tensor.
   */
  contiguous(memoryFormat?: MemoryFormat): Tensor { return new Tensor(N.contiguous(this._h, memoryFormat)); }
  /** These values with memoryFormat's strides (PyTorch's to(memory_format=)): restrides even a tensor dense in both layouts. */
  toMemoryFormat(memoryFormat: MemoryFormat): Tensor { return new Tensor(N.toMemoryFormat(this._h, memoryFormat)); }
  expand(...shape: number[] | [number[]]): Tensor { return new Tensor(N.expand(this._h, flatShape(shape))); }
  repeat(...repeats: number[] | [number[]]): Tensor { return new Tensor(N.repeat(this._h, flatShape(repeats))); }
  flip(dims: number | number[]): Tensor { return new Tensor(N.flip(this._h, dims)); }
  split(splitSize: number | number[], dim = 0): Tensor[] { return N.split(this._h, splitSize, dim).map((h) => new Tensor(h)); }
  chunk(chunks: number, dim = 0): Tensor[] { return N.chunk(this._h, chunks, dim).map((h) => new Tensor(h)); }
  narrow(dim: number, start: number, length: number): Tensor { return new Tensor(N.narrow(this._h, dim, start, length)); }
  select(dim: number, index: number): Tensor { return new Tensor(N.select(this._h, dim, index)); }
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return new Tensor(N.slice(this._h, dim, start, end, step)); }
  indexSelect(dim: number, index: Tensor): Tensor { return new Tensor(N.indexSelect(this._h, dim, u(index))); }
  gather(dim: number, index: Tensor): Tensor { return new Tensor(N.gather(this._h, dim, u(index))); }
  maskedFill(mask: Tensor, value: number): Tensor { return new Tensor(N.maskedFill(this._h, u(mask), value)); }
  /** NumPy-style basic indexing: t.index(0, ':', '1:3', null). */
  index(...specs: IndexSpec[]): Tensor {
    let out: Tensor = this;
    let dim = 0;
    const made: Tensor[] = [];
    for (const [k, spec] of specs.entries()) {
      let next: Tensor;
      if (spec === null) next = out.unsqueeze(dim++);
      else if (typeof spec === 'number') next = out.select(dim, spec);
      else {
        const s = typeof spec === 'string' ? parseSlice(spec, k) : spec;
        if (typeof s !== 'object') throw invalidParameterError(`specs[${k}]`, "a number, null, a slice string like '1:3' or {start, end, step}", spec);
        next = out.slice(dim++, s.start ?? null, s.end ?? null, s.step ?? 1);
      }
      if (out !== this) made.push(out);
      out = next;
    }
    for (const m of made) m.dispose();
    return out === this ? new Tensor(N.alias(this._h)) : out;
  }

  // ---- autograd
  get requiresGrad(): boolean { return N.requiresGrad(this._h); }
  set requiresGrad(v: boolean) { N.setRequiresGrad(this._h, v); }
  requiresGrad_(v = true): this { N.setRequiresGrad(this._h, v); return this; }
  /** The accumulated gradient (a new handle to it), or null. */
  get grad(): Tensor | null {
    const h = N.grad(this._h);
    return h === null ? null : new Tensor(h);
  }
  set grad(g: Tensor | null) { N.setGrad(this._h, g === null ? null : u(g)); }
  get isLeaf(): boolean { return N.isLeaf(this._h); }
  get gradFn(): string | null { return N.gradFn(this._h); }
  backward(opts: { gradient?: Tensor; retainGraph?: boolean; createGraph?: boolean } = {}): void {
    N.backward([this._h], opts.gradient ? [u(opts.gradient)] : undefined, opts.retainGraph, opts.createGraph ?? false);
  }

  // ---- in place (return this)
  add_(other: TensorLike, alpha?: number): this {
    if (alpha === undefined) N.add_(this._h, u(other));
    else if (other instanceof Tensor) N.addScaled_(this._h, other._h, alpha);
    else N.add_(this._h, Number(other) * alpha); // self += alpha * other, a number times a number
    return this;
  }
  sub_(other: TensorLike): this { N.sub_(this._h, u(other)); return this; }
  mul_(other: TensorLike): this { N.mul_(this._h, u(other)); return this; }
  div_(other: TensorLike): this { N.div_(this._h, u(other)); return this; }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { N.addcmul_(this._h, u(t1), u(t2), value); return this; }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { N.addcdiv_(this._h, u(t1), u(t2), value); return this; }
  lerp_(end: Tensor, weight: number): this { N.lerp_(this._h, u(end), weight); return this; }
  clamp_(min?: number | null, max?: number | null): this { N.clamp_(this._h, min, max); return this; }
  copy_(src: Tensor): this { N.copy_(this._h, u(src)); return this; }
  zero_(): this { N.zero_(this._h); return this; }
  fill_(value: Scalar): this { N.fill_(this._h, value); return this; }
  sqrt_(): this { N.sqrt_(this._h); return this; }
  maximum_(other: Tensor): this { N.maximum_(this._h, u(other)); return this; }
  uniform_(from = 0, to = 1): this { N.uniform_(this._h, from, to); return this; }
  normal_(mean = 0, std = 1): this { N.normal_(this._h, mean, std); return this; }
}

function flatShape(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

function parseSlice(spec: string, k: number): { start?: number; end?: number; step?: number } {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw invalidParameterError(`specs[${k}]`, "a slice string like ':', '1:3' or '::2'", spec);
  const num = (p: string | undefined) => {
    if (p === undefined || p.trim() === '') return undefined;
    const n = Number(p);
    if (!Number.isInteger(n)) throw invalidParameterError(`specs[${k}]`, 'integer slice bounds', spec);
    return n;
  };
  return { start: num(parts[0]), end: num(parts[1]), step: num(parts[2]) };
}

/** Wraps a native handle (or null) as a Tensor. @internal */
export const wrap = (h: NativeHandle): Tensor => new Tensor(h);
export const handle = (t: Tensor): NativeHandle => t._h;
