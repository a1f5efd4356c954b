export { Tensor } from './tensor';
export type { Scalar, TensorLike, IndexSpec } from './tensor';
export * from './creation';
export { tidy, tidyAsync, keep, dispose } from './scope';
export { memory, cuda, getNumThreads, setNumThreads, maxNumThreads } from './memory';
export type { MemoryInfo } from './memory';
export { DTYPES, isFloatingDtype } from './dtype';
export type { DType, Device } from './dtype';
