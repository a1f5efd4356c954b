// Quality metrics for generated 28×28 images: a small classifier as the feature extractor,
// Fréchet distance (FID-style), KID, the classifier (Inception-style) score and a TVD through
// a shared PCA and KDEs. See docs/quality.md.
export * from './linalg';
export * from './matrix';
export * from './fid';
export * from './kid';
export * from './score';
export * from './tvd';
export * from './classifier';
export * from './datasets';
export * from './evaluate';
export * from './consistency';
