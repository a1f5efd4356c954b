// What GanTrainer does differently for a class-conditional GAN (./trainer.ts, options.conditional),
// kept here so the trainer's own steps change only where a label goes in:
//   real batch   batches() gives {x, y}: the images and their int64 labels [N]
//   fake labels  drawn uniformly from [0, numClasses) by the trainer (the global batch's, like z)
//   critic       'projection': critic.forward(x, y) -> scores [N] (Miyato & Koyama 2018)
//                'acgan':      critic.forward(x) -> [scores [N], class logits [N, K]] (Odena et al. 2017);
//                the auxiliary classification loss, weighted, joins both updates: the critic's
//                on real and fake samples, the generator's on its fakes
//   penalties    a one-argument critic (the trainer's): x => the score of x under the real batch's
//                labels (R2: the fakes' labels); DiffAugment, when on, augments x alone
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import type { Device } from '../tensor/dtype';
import type { AnyModule, Module } from '../nn/module';
import { auxiliaryClassifierLoss } from './losses';

export const CONDITIONAL_CRITICS = ['projection', 'acgan'] as const;
export type ConditionalCriticKind = (typeof CONDITIONAL_CRITICS)[number];

/** GanTrainerOptions.conditional */
export interface ConditionalTraining {
  numClasses: number;
  /** how the critic takes the label: 'projection' (critic(x, y)) or 'acgan' (critic(x) -> [scores, logits]) */
  critic: ConditionalCriticKind;
  /** 'acgan': the weight of the auxiliary classification loss (default 1) */
  acganWeight?: number;
}

export type CheckedConditional = Required<ConditionalTraining>;

/** Validates options.conditional against the networks (a generator that knows its classes must agree). */
export function checkConditional(where: string, c: unknown, generator: Module): CheckedConditional {
  const param = `${where} options.conditional`;
  if (!is.plainObject(c)) throw invalidParameterError(param, "an object {numClasses, critic: 'projection' | 'acgan', acganWeight?}", c);
  checkOptionKeys(param, c, ['numClasses', 'critic', 'acganWeight']);
  const o = c as unknown as ConditionalTraining;
  if (!is.positiveInteger(o.numClasses)) throw invalidParameterError(`${param}.numClasses`, 'a positive integer', o.numClasses);
  if (!is.oneOf(o.critic, CONDITIONAL_CRITICS)) throw invalidParameterError(`${param}.critic`, "'projection' or 'acgan'", o.critic);
  if (o.acganWeight !== undefined && o.critic !== 'acgan') throw invalidParameterError(`${param}.acganWeight`, "nothing unless critic is 'acgan'", o.acganWeight);
  const w = o.acganWeight ?? 1;
  if (!is.finite(w) || w < 0) throw invalidParameterError(`${param}.acganWeight`, 'a number >= 0', o.acganWeight);
  const own = (generator as { numClasses?: unknown }).numClasses;
  if (own !== undefined && own !== o.numClasses) throw invalidParameterError(`${param}.numClasses`, `the generator's numClasses (${String(own)})`, o.numClasses);
  return { numClasses: o.numClasses, critic: o.critic, acganWeight: w };
}

/** batches()'s value as images and labels; unconditional: a Tensor, conditional: {x, y} with y int64 [N]. */
export function splitBatch(value: unknown, cond: CheckedConditional | null): { real: Tensor; labels: Tensor | undefined } {
  const where = 'the value returned by options.batches()';
  if (cond === null) {
    if (!(value instanceof Tensor)) throw invalidParameterError(where, 'a Tensor (a batch of real samples)', value);
    return { real: value, labels: undefined };
  }
  const b = value as { x?: unknown; y?: unknown } | null;
  if (b === null || typeof b !== 'object' || !(b.x instanceof Tensor) || !(b.y instanceof Tensor)) {
    throw invalidParameterError(where, 'a labelled batch {x: Tensor, y: int64 Tensor [N]} (a conditional trainer; TensorDataLoader.nextBatch() on labelled data)', value);
  }
  const { x, y } = b as { x: Tensor; y: Tensor };
  if (y.dtype !== 'int64' || y.ndim !== 1 || y.shape[0] !== x.shape[0]) {
    throw invalidParameterError(`${where}.y`, `an int64 Tensor of shape [${x.shape[0]}] (one class per sample)`, `a ${y.dtype} tensor of shape [${y.shape}]`);
  }
  return { real: x, labels: y };
}

/** The critic's scores of x (labels y when conditional), and AC-GAN's class logits. */
export function criticOutput(critic: AnyModule, cond: CheckedConditional | null, x: Tensor, y: Tensor | undefined): { score: Tensor; logits?: Tensor } {
  if (cond === null) return { score: critic.forward(x) as Tensor };
  if (cond.critic === 'projection') return { score: critic.forward(x, y) as Tensor };
  const out = critic.forward(x) as unknown;
  if (!Array.isArray(out) || !(out[0] instanceof Tensor) || !(out[1] instanceof Tensor)) {
    throw invalidParameterError("the critic's output (conditional critic 'acgan')", '[scores [N], class logits [N, numClasses]] (an AuxiliaryClassifierCritic)', out);
  }
  return { score: out[0], logits: out[1] };
}

/** AC-GAN's weighted classification loss of the logits against the labels (0-size work otherwise: undefined). */
export function classLoss(cond: CheckedConditional | null, logits: Tensor | undefined, labels: Tensor | undefined): Tensor | undefined {
  if (cond === null || cond.critic !== 'acgan' || logits === undefined || labels === undefined) return undefined;
  const l = auxiliaryClassifierLoss(logits, labels);
  return cond.acganWeight === 1 ? l : l.mul(cond.acganWeight);
}

/** Labels for n conditional samples: class i mod numClasses for sample i (every class alike, no random draw). */
export function cyclicLabels(n: number, numClasses: number, device: Device = 'cpu'): Tensor {
  if (!is.positiveInteger(n)) throw invalidParameterError('n', 'a positive integer', n);
  if (!is.positiveInteger(numClasses)) throw invalidParameterError('numClasses', 'a positive integer', numClasses);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) y[i] = BigInt(i % numClasses);
  return tensor(y, [n], { device });
}

/** Labels [rows·cols] of a per-class grid: row r is class r (the grid's rows are the classes). */
export function rowLabels(rows: number, cols: number, device: Device = 'cpu'): Tensor {
  const y = new BigInt64Array(rows * cols);
  for (let i = 0; i < y.length; i++) y[i] = BigInt(Math.floor(i / cols));
  return tensor(y, [rows * cols], { device });
}
