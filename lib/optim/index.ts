// torch.optim: Adam, RMSprop, SGD.
export { Optimizer } from './optimizer';
export type { OptimizerStateDict, ParamGroup, ParamGroupInput, ParamsInput, ParamState } from './optimizer';
export { Adam } from './adam';
export type { AdamOptions, AdamHyper } from './adam';
export { RMSprop } from './rmsprop';
export type { RMSpropOptions, RMSpropHyper } from './rmsprop';
export { SGD } from './sgd';
export type { SGDOptions, SGDHyper } from './sgd';
