// One error type for libtorch failures, and a tiny validation vocabulary
// (after sharp's `is` and `invalidParameterError`).

/** What an error may say beyond its message: the kind (`code`), and where a parameter is at fault, which, what was expected and what was received. */
export interface ErrorFields {
  /** the kind: ERR_TORCH* (libtorch), ERR_INVALID_ARG, ERR_RUN_CONFIG, ERR_CHECKPOINT, ERR_USAGE, ... */
  code?: string;
  /** the native operation that failed */
  op?: string;
  /** the parameter (option, flag) at fault */
  parameter?: string;
  expected?: string;
  received?: string;
  cause?: unknown;
}

/**
 * The one error type of torch-gan, thrown by the native binding and the TypeScript layers alike.
 * `code` tells the kind; `parameter`/`expected`/`received` are set where one input is at fault.
 */
export class TorchError extends Error {
  code: string;
  op?: string;
  parameter?: string;
  expected?: string;
  received?: string;
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields.cause !== undefined ? { cause: fields.cause } : undefined);
    this.name = 'TorchError';
    this.code = fields.code ?? 'ERR_TORCH';
    if (fields.op !== undefined) this.op = fields.op;
    if (fields.parameter !== undefined) this.parameter = fields.parameter;
    if (fields.expected !== undefined) this.expected = fields.expected;
    if (fields.received !== undefined) this.received = fields.received;
  }
}

/** Describes a received value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `string '${value.length > 40 ? value.slice(0, 40) + '...' : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  if (name === 'Tensor') return describeTensor(value as { dtype: string; shape: number[]; device: string; isDisposed: boolean });
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** "a float32 Tensor of shape [2, 3]" (the device too, off the CPU); "a disposed Tensor". */
function describeTensor(t: { dtype: string; shape: number[]; device: string; isDisposed: boolean }): string {
  try {
    if (t.isDisposed) return 'a disposed Tensor';
    const dtype = t.dtype;
    return `${/^[iu]/.test(dtype) ? 'an' : 'a'} ${dtype} Tensor of shape [${t.shape.join(', ')}]${t.device === 'cpu' ? '' : ` on ${t.device}`}`;
  } catch {
    return 'a Tensor';
  }
}

/** TypeError naming the parameter, what was expected and what was received. */
export function invalidParameterError(name: string, expected: string, actual: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describe(actual)}`);
}

export const is = {
  defined: (v: unknown): boolean => v !== undefined && v !== null,
  number: (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v),
  finite: (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v),
  integer: (v: unknown): v is number => Number.isInteger(v),
  positiveInteger: (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0,
  nonNegativeInteger: (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0,
  inRange: (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && v >= lo && v <= hi,
  string: (v: unknown): v is string => typeof v === 'string',
  bool: (v: unknown): v is boolean => typeof v === 'boolean',
  plainObject: (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype,
  oneOf: <T extends string>(v: unknown, values: readonly T[]): v is T => typeof v === 'string' && (values as readonly string[]).includes(v),
};

/** Throws unless every key of `options` is one of `known`: a typo is an error, not a silent default. */
export function checkOptionKeys(where: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (!is.plainObject(options)) throw invalidParameterError(`${where} options`, 'a plain object', options);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option '${key}' for ${where}; expected one of: ${known.join(', ')}`);
    }
  }
}
