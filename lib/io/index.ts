// Files out: atomic writes, PNG, image grids, plots (SVG), GIFs, TensorBoard event files. May import lib/tensor and lib/errors only.
export * from './atomic';
export * from './png';
export * from './svg-plot';
export * from './gif';
export * from './tensorboard';
