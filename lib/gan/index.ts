// GAN training: losses, gradient penalties, model builders, the trainer and recipes.
export * from './losses';
export * from './penalties';
export * from './models';
export * from './trainer';
