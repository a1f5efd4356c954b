// Label consistency of a class-conditional generator: how often the metrics classifier
// (./classifier.ts) puts a generated sample in the class it was asked for. A generator that
// ignores its label scores about 1/numClasses; one whose samples are real images of the asked
// class scores the classifier's test accuracy. Counted overall and per requested class.
import { invalidParameterError, is } from '../errors';
import type { FeatureMatrix } from './matrix';

export interface LabelConsistency {
  /** correct / n */
  overall: number;
  /** per requested class c: the fraction of its samples classified as c (NaN for a class never asked) */
  perClass: number[];
  /** samples classified as their requested class */
  correct: number;
  n: number;
  /** per requested class: samples asked for */
  counts: number[];
}

/** The class of each row of `probs` (its argmax; the first on ties). */
export function predictedClasses(probs: FeatureMatrix): Int32Array {
  const out = new Int32Array(probs.n);
  for (let i = 0; i < probs.n; i++) {
    let best = 0;
    for (let j = 1; j < probs.d; j++) if (probs.data[i * probs.d + j] > probs.data[i * probs.d + best]) best = j;
    out[i] = best;
  }
  return out;
}

/** How often the argmax of probs row i is requested[i], overall and per requested class. */
export function labelConsistency(probs: FeatureMatrix, requested: ArrayLike<number>, numClasses: number = probs.d): LabelConsistency {
  if (!is.positiveInteger(numClasses)) throw invalidParameterError('numClasses', 'a positive integer', numClasses);
  if (requested === null || typeof requested !== 'object' || requested.length !== probs.n) {
    throw invalidParameterError('requested', `${probs.n} class indices (one per row of probs)`, requested === null || typeof requested !== 'object' ? requested : `${requested.length} of them`);
  }
  const pred = predictedClasses(probs);
  const counts = new Array<number>(numClasses).fill(0);
  const hits = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < probs.n; i++) {
    const c = requested[i];
    if (!is.nonNegativeInteger(c) || c >= numClasses) throw invalidParameterError(`requested[${i}]`, `a class in [0, ${numClasses})`, c);
    counts[c]++;
    if (pred[i] === c) hits[c]++;
  }
  const correct = hits.reduce((a, b) => a + b, 0);
  return { overall: correct / probs.n, perClass: hits.map((h, c) => (counts[c] > 0 ? h / counts[c] : NaN)), correct, n: probs.n, counts };
}
