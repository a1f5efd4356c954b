// torch.nn: modules, layers, initialisation (the functional ops are in ./functional).
export { Module, pyFloat } from './module';
export type { AnyModule, StateDict, LoadStateDictResult } from './module';
export * from './layers';
export { spectralNorm, spectralNormNames } from './spectral-norm';
export { crossSampleModules } from './per-sample';
export { cloneModule } from './clone';
export type { SpectralNormOptions } from './spectral-norm';
export * as init from './init';
export { dcganInit } from './init';
export * as functional from './functional';
