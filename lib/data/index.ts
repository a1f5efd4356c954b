// Datasets and data loading. May import lib/tensor and lib/errors only.
export * from './types';
export * from './random';
export * from './idx';
export * from './cifar';
export * from './imagefolder';
export * from './toy';
export * from './sources';
export * from './loader';
export * from './fingerprint';
export * from './distributed-sampler';
