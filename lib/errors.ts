// The one error type of torch-gan (TorchError), and a tiny validation vocabulary
// (after sharp's `is` and `invalidParameterError`). Every error torch-gan throws is a
// TorchError; its `code` tells the kind:
//   ERR_INVALID_ARG      an argument or option at fault (parameter/expected/received say which and why)
//   ERR_TENSOR_DISPOSED  a disposed tensor was used
//   ERR_INVALID_STATE    a call the object's state forbids (used after dispose(), a second init, ...)
//   ERR_TORCH*           libtorch refused (ERR_TORCH_INDEX, _TYPE, _VALUE, _NOT_IMPLEMENTED,
//                        _OUT_OF_MEMORY, _DISTRIBUTED*): raised by the native binding
//   ERR_DATA             a data set file or folder that cannot be read or is malformed
//   ERR_SAFETENSORS      a safetensors file that is malformed, or not what was asked for
//   ERR_CHECKPOINT       a checkpoint folder that is incomplete or inconsistent
//   ERR_IO               a file could not be written (the system error is the cause)
//   ERR_GRADCHECK        gradcheck(): autograd and finite differences disagree
//   ERR_RUN_CONFIG       a training run's configuration cannot run
//   ERR_RUN_LOCKED       a run folder is in use by another run
//   ERR_DIVERGED         training diverged (non-finite losses)
//   ERR_USAGE            a bad command line (the CLI exits with code 2)
//   ERR_WORKER_CLOSED, ERR_WORKER_EXITED, ERR_BUSY, ERR_NOT_STARTED, ERR_NO_OUT, ERR_TOO_MANY_WORKERS
//                        TrainingWorker / GeneratorSampler (errors from inside a worker keep their code
//                        and fields; ERR_WORKER_FAILED for one that had no code)

/** What an error may say beyond its message: the kind (`code`), and where a parameter is at fault, which, what was expected and what was received. */
export interface ErrorFields {
  /** the kind (the list is at the top of lib/errors.ts); ERR_TORCH when not given */
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

/** A value as option errors quote it: strings in quotes, the rest as JSON ('adam', 0.5, [1,2]). */
export function quoteValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
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

/** The fields of an error about one input: which (`parameter`), what was expected and what was received. */
export type InputFields = Pick<ErrorFields, 'parameter' | 'expected' | 'received'>;

/** An input at fault (ERR_INVALID_ARG): "Expected {expected} for {name} but received {describe(actual)}", with the fields set. */
export function invalidParameterError(name: string, expected: string, actual: unknown): TorchError {
  return expectedError(name, expected, describe(actual));
}

/** The same with `received` already put in words (e.g. 'shape [2, 5]', '3 values'). */
export function expectedError(name: string, expected: string, received: string): TorchError {
  return new TorchError(`Expected ${expected} for ${name} but received ${received}`, { code: 'ERR_INVALID_ARG', parameter: name, expected, received });
}

/**
 * An input at fault (ERR_INVALID_ARG) where the message needs its own words: a value out of range
 * for another input's size, inputs that disagree, a tensor of the wrong shape. The fields name the
 * input at fault when there is one.
 */
export function invalidArgument(message: string, fields: InputFields = {}): TorchError {
  return new TorchError(message, { code: 'ERR_INVALID_ARG', ...fields });
}

/** An option name that is none of the known ones (a typo is an error, not a silent default). */
export function unknownOptionError(where: string, key: string, known: readonly string[]): TorchError {
  return invalidArgument(`Unknown option '${key}' for ${where}; expected one of: ${known.join(', ')}`, {
    parameter: `${where} options`,
    expected: `one of: ${known.join(', ')}`,
    received: `'${key}'`,
  });
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
  for (const key of Object.keys(options)) if (!known.includes(key)) throw unknownOptionError(where, key, known);
}
