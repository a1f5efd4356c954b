// Creating tensors: from JS data, constants, random values, ranges.
import { N, NativeHandle } from '../native';
import { checkOptionKeys, invalidArgument, invalidParameterError, is } from '../errors';
import { Tensor } from './tensor';
import { checkDevice, checkDtype, Device, DType } from './dtype';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}
const OPTION_KEYS = ['dtype', 'device', 'requiresGrad'] as const;

type TypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;
type Nested = number | boolean | Nested[];

function opts(where: string, o: TensorOptions | undefined): TensorOptions {
  if (o === undefined) return {};
  checkOptionKeys(where, o, OPTION_KEYS);
  if (o.dtype !== undefined) checkDtype(`${where} options.dtype`, o.dtype);
  if (o.device !== undefined) checkDevice(`${where} options.device`, o.device);
  if (o.requiresGrad !== undefined && !is.bool(o.requiresGrad)) throw invalidParameterError(`${where} options.requiresGrad`, 'a boolean', o.requiresGrad);
  return o;
}

function finish(h: NativeHandle, o: TensorOptions): Tensor {
  const t = new Tensor(h);
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** The most dimensions tensor() infers from nested arrays (flatten() recurses once per level). */
export const MAX_NESTED_DIMS = 64;

function inferShape(data: Nested, where: string): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    if (shape.length === MAX_NESTED_DIMS) {
      const expected = `nested arrays at most ${MAX_NESTED_DIMS} deep (one level per dimension)`;
      throw invalidArgument(`Expected ${expected} for ${where} but received arrays nested deeper`, { parameter: where, expected, received: 'arrays nested deeper' });
    }
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function flatten(data: Nested, shape: number[], depth: number, out: number[], path: string): void {
  if (depth === shape.length) {
    if (typeof data === 'boolean') out.push(data ? 1 : 0);
    else if (typeof data === 'number') out.push(data);
    else throw invalidParameterError(`data${path}`, 'a number or boolean', data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw invalidParameterError(`data${path}`, `an array of length ${shape[depth]} (nested arrays must be rectangular)`, data);
  }
  for (let i = 0; i < data.length; i++) flatten(data[i], shape, depth + 1, out, `${path}[${i}]`);
}

/**
 * A tensor from a typed array (with a shape) or nested JS arrays (shape inferred).
 * Typed arrays keep their dtype unless options.dtype says otherwise; JS numbers make float32.
 */
export function tensor(data: TypedArray | Nested, shapeOrOptions?: number[] | TensorOptions, options?: TensorOptions): Tensor {
  let shape: number[] | undefined;
  let o: TensorOptions;
  if (Array.isArray(shapeOrOptions)) {
    shape = shapeOrOptions;
    o = opts('tensor()', options);
  } else o = opts('tensor()', shapeOrOptions);
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    return finish(N.fromTypedArray(arr, shape ?? [arr.length], o.dtype, o.device), o);
  }
  if (!Array.isArray(data) && typeof data !== 'number' && typeof data !== 'boolean') {
    throw invalidParameterError('data', 'a typed array, a number or (nested) arrays of numbers', data);
  }
  const inferred = inferShape(data, 'data');
  const flat: number[] = [];
  flatten(data, inferred, 0, flat, '');
  const isBool = typeof data === 'boolean' || (Array.isArray(data) && flatSample(data) === 'boolean');
  const dtype = o.dtype ?? (isBool ? 'bool' : 'float32');
  // float32 data goes straight in; every other dtype via float64, exact for integers up to 2^53
  const src = dtype === 'float32' ? Float32Array.from(flat) : Float64Array.from(flat);
  if (shape !== undefined) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== flat.length) throw invalidParameterError('shape', `a shape holding ${flat.length} elements`, shape);
  }
  return finish(N.fromTypedArray(src, shape ?? inferred, dtype, o.device), o);
}

function flatSample(data: Nested): string {
  let cur: Nested = data;
  while (Array.isArray(cur)) cur = cur[0];
  return typeof cur;
}

/** A 0-d tensor holding one value. */
export function scalarTensor(value: number, options?: TensorOptions): Tensor {
  const o = opts('scalarTensor()', options);
  return finish(N.full([], value, o.dtype, o.device), o);
}

export const zeros = (shape: number[], options?: TensorOptions): Tensor => { const o = opts('zeros()', options); return finish(N.zeros(shape, o.dtype, o.device), o); };
export const ones = (shape: number[], options?: TensorOptions): Tensor => { const o = opts('ones()', options); return finish(N.ones(shape, o.dtype, o.device), o); };
export const empty = (shape: number[], options?: TensorOptions): Tensor => { const o = opts('empty()', options); return finish(N.empty(shape, o.dtype, o.device), o); };
export const full = (shape: number[], value: number | boolean, options?: TensorOptions): Tensor => {
  const o = opts('full()', options);
  return finish(N.full(shape, value, o.dtype ?? (typeof value === 'boolean' ? 'bool' : undefined), o.device), o);
};
/** U[0, 1) */
export const rand = (shape: number[], options?: TensorOptions): Tensor => { const o = opts('rand()', options); return finish(N.rand(shape, o.dtype, o.device), o); };
/** N(0, 1) */
export const randn = (shape: number[], options?: TensorOptions): Tensor => { const o = opts('randn()', options); return finish(N.randn(shape, o.dtype, o.device), o); };
/** Integers in [low, high), int64 by default. */
export const randint = (low: number, high: number, shape: number[], options?: TensorOptions): Tensor => {
  const o = opts('randint()', options);
  return finish(N.randint(low, high, shape, o.dtype, o.device), o);
};
/** U[low, high) */
export function uniform(shape: number[], low = 0, high = 1, options?: TensorOptions): Tensor {
  const o = opts('uniform()', options);
  const t = new Tensor(N.empty(shape, o.dtype, o.device));
  t.uniform_(low, high);
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}
/** N(mean, std²) */
export function normal(shape: number[], mean = 0, std = 1, options?: TensorOptions): Tensor {
  const o = opts('normal()', options);
  const t = new Tensor(N.empty(shape, o.dtype, o.device));
  t.normal_(mean, std);
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}
/** arange(end) or arange(start, end, step) */
export function arange(start: number, end?: number, step = 1, options?: TensorOptions): Tensor {
  const o = opts('arange()', options);
  if (end === undefined) [start, end] = [0, start];
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return finish(N.arange(start, end, step, o.dtype ?? (allInt ? 'int64' : 'float32'), o.device), o);
}
export const linspace = (start: number, end: number, steps: number, options?: TensorOptions): Tensor => {
  const o = opts('linspace()', options);
  return finish(N.linspace(start, end, steps, o.dtype, o.device), o);
};
export const eye = (n: number, m?: number, options?: TensorOptions): Tensor => {
  const o = opts('eye()', options);
  return finish(N.eye(n, m ?? n, o.dtype, o.device), o);
};

// A wrong value (a JS caller's) passes through as it is, for the binding's error to name it.
const u = (t: Tensor): NativeHandle => (t instanceof Tensor ? t._h : (t as never));
export const zerosLike = (t: Tensor, dtype?: DType): Tensor => new Tensor(N.zerosLike(u(t), dtype));
export const onesLike = (t: Tensor, dtype?: DType): Tensor => new Tensor(N.onesLike(u(t), dtype));
export const emptyLike = (t: Tensor, dtype?: DType): Tensor => new Tensor(N.emptyLike(u(t), dtype));
export const fullLike = (t: Tensor, value: number, dtype?: DType): Tensor => new Tensor(N.fullLike(u(t), value, dtype));
export const randLike = (t: Tensor, dtype?: DType): Tensor => new Tensor(N.randLike(u(t), dtype));
export const randnLike = (t: Tensor, dtype?: DType): Tensor => new Tensor(N.randnLike(u(t), dtype));

// ---- combining
const handles = (name: string, ts: Tensor[]): NativeHandle[] => {
  if (!Array.isArray(ts)) throw invalidParameterError(name, 'an array of Tensors', ts);
  return ts.map(u);
};
export const cat = (tensors: Tensor[], dim = 0): Tensor => new Tensor(N.cat(handles('tensors', tensors), dim));
export const stack = (tensors: Tensor[], dim = 0): Tensor => new Tensor(N.stack(handles('tensors', tensors), dim));
/** condition ? input : other, elementwise (numbers broadcast). */
export const where = (condition: Tensor, input: Tensor | number, other: Tensor | number): Tensor =>
  new Tensor(N.where(u(condition), input instanceof Tensor ? input._h : input, other instanceof Tensor ? other._h : other));

/** Seeds the CPU generator (and CUDA's, when present): a non-negative safe integer, or a bigint below 2^64. */
export function manualSeed(seed: number | bigint): void {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw invalidParameterError('seed', 'a seed in [0, 2^64)', seed);
  } else if (!is.nonNegativeInteger(seed)) {
    throw invalidParameterError('seed', 'a non-negative integer', seed);
  } else if (!Number.isSafeInteger(seed)) {
    throw invalidParameterError('seed', 'a seed up to 2^53 - 1 (Number.MAX_SAFE_INTEGER; pass a bigint for larger ones, up to 2^64 - 1)', seed);
  }
  N.manualSeed(seed);
}

/** The CPU generator's state (a uint8 tensor), to save with a checkpoint. */
export const getRngState = (): Tensor => new Tensor(N.getRngState());
/** Restores a state from getRngState(): the same random numbers follow. */
export function setRngState(state: Tensor): void {
  if (!(state instanceof Tensor)) throw invalidParameterError('state', 'a uint8 Tensor from getRngState()', state);
  N.setRngState(state._h);
}
