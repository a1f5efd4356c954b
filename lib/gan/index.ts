// GAN training: losses, gradient penalties, model builders, the trainer and recipes;
// whole runs from a plain config (run) and training/sampling in worker threads (worker).
export * from './losses';
export * from './penalties';
export * from './models';
export * from './trainer';
export * from './run';
export * from './artefacts';
export * from './worker';
export * from './truncation';
export * from './ema';
export * from './diffaugment';
export * from './conditional';
export * from './sampling-weights';
export { runMemoryFormat } from './memory-format';
