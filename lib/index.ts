// torch-gan: GAN training in Node on libtorch.
export * from './tensor';
export * as autograd from './autograd';
export { noGrad, enableGrad } from './autograd';
export * as F from './nn/functional';
export { TorchError } from './errors';
export * as nn from './nn';
export * as optim from './optim';
export { diagnostics } from './diagnostics';
export type { Diagnostics } from './diagnostics';
export { saveSafetensors, loadSafetensors, readSafetensorsHeader, saveModule, loadModule } from './io/safetensors';
export type { SafetensorsHeader, SafetensorsEntry, LoadSafetensorsOptions } from './io/safetensors';
