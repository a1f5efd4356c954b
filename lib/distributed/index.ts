// torch.distributed for torch-gan: process groups on libtorch's c10d (TCPStore + Gloo),
// collectives, data-parallel helpers and the DataParallel policy GanTrainer takes. May import
// lib/tensor, lib/nn and lib/errors only.
export * from './options';
export * from './group';
export * from './gradients';
export * from './data-parallel';
