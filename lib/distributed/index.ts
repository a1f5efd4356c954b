// torch.distributed for torch-gan: process groups on libtorch's c10d (TCPStore + Gloo),
// collectives, and data-parallel helpers. May import lib/tensor, lib/nn and lib/errors only.
export * from './options';
export * from './group';
export * from './gradients';
