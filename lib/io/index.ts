// Files out: atomic writes, PNG, image grids, plots, GIFs. May import lib/tensor and lib/errors only.
export * from './atomic';
export * from './png';
export * from './plot';
export * from './gif';
