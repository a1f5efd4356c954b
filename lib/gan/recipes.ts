// The published recipes, one table for every caller: GanTrainer's trainerFromRecipe() and the run
// configuration (./run-config.ts) both read it, keyed by the run's loss names.
export const RECIPE_NAMES = ['gan', 'wgan', 'wgan-gp', 'dragan', 'lsgan', 'hinge'] as const;
export type RecipeName = (typeof RECIPE_NAMES)[number];

export interface Recipe {
  /** the trainer's loss */
  loss: 'gan' | 'wgan' | 'wgan-gp' | 'dragan' | 'lsgan' | 'hinge';
  optimizer: 'adam' | 'rmsprop';
  lr: number;
  /** Adam's betas (ignored by RMSprop) */
  betas: [number, number];
  nCritic: number;
  /** the penalty's weight (wgan-gp, dragan) */
  lambda?: number;
  /** WGAN's weight clipping range */
  clamp?: { lower: number; upper: number };
  /** where the numbers come from */
  source: string;
}

const freeze = (r: Recipe): Readonly<Recipe> => Object.freeze({ ...r, betas: Object.freeze([...r.betas]) as [number, number] });

/** The published defaults of each method. */
export const recipes: Readonly<Record<RecipeName, Readonly<Recipe>>> = Object.freeze({
  gan: freeze({ loss: 'gan', optimizer: 'adam', lr: 2e-4, betas: [0.5, 0.999], nCritic: 1, source: 'Radford et al. 2015 (DCGAN)' }),
  wgan: freeze({ loss: 'wgan', optimizer: 'rmsprop', lr: 5e-5, betas: [0.5, 0.9], nCritic: 5, clamp: { lower: -0.01, upper: 0.01 }, source: 'Arjovsky et al. 2017, Algorithm 1' }),
  'wgan-gp': freeze({ loss: 'wgan-gp', optimizer: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 5, lambda: 10, source: 'Gulrajani et al. 2017, Algorithm 1' }),
  dragan: freeze({ loss: 'dragan', optimizer: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 1, lambda: 10, source: "Kodali et al. 2017, the authors' notebook" }),
  // LSGAN's experiments: Adam, learning rate 0.0002, β1 0.5 (β2 left at Adam's 0.999), one D step per G step
  lsgan: freeze({ loss: 'lsgan', optimizer: 'adam', lr: 2e-4, betas: [0.5, 0.999], nCritic: 1, source: 'Mao et al. 2017 (LSGAN), §4' }),
  // SNGAN's hinge-loss ResNet runs: Adam α 0.0002, β1 0, β2 0.9, n_dis 5
  hinge: freeze({ loss: 'hinge', optimizer: 'adam', lr: 2e-4, betas: [0.0, 0.9], nCritic: 5, source: 'Miyato et al. 2018 (SNGAN), the hinge-loss ResNet setting' }),
});
