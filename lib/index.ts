// torch-gan: GAN training in Node on libtorch.
export * from './tensor';
export * as autograd from './autograd';
export { noGrad, enableGrad } from './autograd';
export * as F from './nn/functional';
export { TorchError } from './errors';
