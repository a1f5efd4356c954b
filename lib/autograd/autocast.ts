// Autocast (mixed precision, torch.autocast): fn runs with libtorch's autocast on, so
// convolutions and matrix products run in a lower-precision dtype (bfloat16 on the CPU's
// matrix units) while the ops on autocast's fp32 list run in float32; the weights, their
// gradients and an optimizer's state stay float32. Like grad mode, the state is per thread and
// the scope restores it even when fn throws; regions nest, and the outermost one clears the
// cache of weight casts when it ends (an optimizer step after it changes the weights).
import { N } from '../native';
import { checkOptionKeys, invalidArgument, invalidParameterError, is } from '../errors';

export type AutocastDtype = 'bfloat16' | 'float16';
/** The device type whose autocast state a region sets ('cuda:N' counts as 'cuda': the state is per device type). */
export type AutocastDevice = 'cpu' | 'cuda' | `cuda:${number}`;

export interface AutocastOptions {
  /** the lower-precision dtype; default 'bfloat16' on the CPU, 'float16' on CUDA (PyTorch's defaults) */
  dtype?: AutocastDtype;
  /** false runs fn with autocast off (e.g. an fp32 island inside a region); default true */
  enabled?: boolean;
  /** default 'cpu' */
  device?: AutocastDevice;
}

function deviceType(where: string, device: unknown): 'cpu' | 'cuda' {
  if (device === 'cpu') return 'cpu';
  if (device === 'cuda' || (typeof device === 'string' && /^cuda:\d+$/.test(device))) return 'cuda';
  throw invalidParameterError(`${where} options.device`, "'cpu', 'cuda' or 'cuda:N'", device);
}

function checkDtype(where: string, dtype: unknown, device: 'cpu' | 'cuda'): AutocastDtype {
  if (device === 'cpu') {
    // libtorch 1.13's CPU autocast has no float16, and float16 on the CPU has no matrix units to run on
    if (dtype !== 'bfloat16') throw invalidParameterError(`${where} options.dtype`, "'bfloat16' (the CPU's autocast dtype; float16 is CUDA's)", dtype);
    return dtype;
  }
  if (dtype !== 'bfloat16' && dtype !== 'float16') throw invalidParameterError(`${where} options.dtype`, "'bfloat16' or 'float16'", dtype);
  return dtype;
}

/** Runs fn under autocast (torch.autocast(device, dtype, enabled)); returns what fn returns. */
export function autocast<T>(fn: () => T, options: AutocastOptions = {}): T {
  const where = 'autocast()';
  if (typeof fn !== 'function') throw invalidParameterError(`${where} fn`, 'a function', fn);
  checkOptionKeys(where, options, ['dtype', 'enabled', 'device']);
  const device = deviceType(where, options.device ?? 'cpu');
  const dtype = checkDtype(where, options.dtype ?? (device === 'cpu' ? 'bfloat16' : 'float16'), device);
  const enabled = options.enabled ?? true;
  if (!is.bool(enabled)) throw invalidParameterError(`${where} options.enabled`, 'a boolean', enabled);
  const prev = N.autocastEnter(device, enabled, dtype);
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw invalidArgument(`${where}: fn must be synchronous (autocast is per thread and would leak across awaits)`, {
        parameter: 'fn', expected: 'a synchronous function', received: 'a function returning a Promise',
      });
    }
    return r;
  } finally {
    N.autocastExit(device, prev.enabled, prev.dtype as AutocastDtype);
  }
}

/** Whether autocast is on for the device type on this thread (torch.is_autocast_enabled). */
export function isAutocastEnabled(device: AutocastDevice = 'cpu'): boolean {
  return N.autocastState(deviceType('isAutocastEnabled()', device)).enabled;
}

/** The device type's autocast dtype on this thread (torch.get_autocast_dtype). */
export function autocastDtype(device: AutocastDevice = 'cpu'): AutocastDtype {
  return N.autocastState(deviceType('autocastDtype()', device)).dtype as AutocastDtype;
}
