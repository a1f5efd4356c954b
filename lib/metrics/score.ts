// Classifier score: the Inception Score (Salimans et al. 2016) with the metrics classifier in
// place of Inception:
//
//   score = exp( E_x[ KL( p(y|x) ‖ p(y) ) ] ),   p(y) = E_x[p(y|x)]
//
// from the softmax probabilities of N samples. High when each sample is classified
// confidently (low entropy p(y|x)) and the classes are balanced (high entropy p(y)); at most
// the number of classes. With splits > 1 the N rows are cut into that many contiguous parts,
// the score computed on each (p(y) per part), and the mean and std (population, ddof 0, as
// the original code) returned. 0·log 0 counts as 0.
import { Tensor } from '../tensor/tensor';
import { invalidArgument, invalidParameterError, is } from '../errors';
import { asMatrix, FeatureMatrix, sliceRows } from './matrix';

export interface ScoreResult {
  mean: number;
  std: number;
  /** the score of each split */
  values: number[];
}

function scoreOf(p: FeatureMatrix): number {
  const { n, d, data } = p;
  const py = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) py[c] += data[i * d + c];
  for (let c = 0; c < d; c++) py[c] /= n;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const v = data[i * d + c];
      if (v > 0) kl += v * (Math.log(v) - Math.log(py[c]));
    }
  }
  return Math.exp(kl / n);
}

/**
 * Classifier score of class probabilities [N, classes] (rows summing to 1, e.g. a softmax);
 * pass { logits: true } to give logits instead.
 */
export function classifierScore(probs: Tensor | number[][] | FeatureMatrix, options: { splits?: number; logits?: boolean } = {}): ScoreResult {
  const splits = options.splits ?? 1;
  if (!is.positiveInteger(splits)) throw invalidParameterError('options.splits', 'a positive integer', splits);
  let p = asMatrix(probs, 'probs');
  if (options.logits) p = softmaxRows(p);
  for (let i = 0; i < p.n; i++) {
    let s = 0;
    for (let c = 0; c < p.d; c++) {
      const v = p.data[i * p.d + c];
      if (!(v >= 0 && v <= 1)) {
        throw invalidArgument(`classifierScore(): probs[${i}][${c}] = ${v} is not a probability (pass { logits: true } for logits)`, { parameter: `probs[${i}][${c}]`, expected: 'a probability in [0, 1]', received: `${v}` });
      }
      s += v;
    }
    if (Math.abs(s - 1) > 1e-4) {
      throw invalidArgument(`classifierScore(): row ${i} of probs sums to ${s}, not 1 (pass { logits: true } for logits)`, { parameter: `probs[${i}]`, expected: 'a row summing to 1', received: `a row summing to ${s}` });
    }
  }
  if (splits > p.n) {
    throw invalidArgument(`classifierScore(): ${splits} splits need at least as many rows (received ${p.n})`, { parameter: 'probs', expected: `at least ${splits} rows (one per split)`, received: `${p.n}` });
  }
  const values: number[] = [];
  for (let k = 0; k < splits; k++) {
    const a = Math.floor((k * p.n) / splits);
    const b = Math.floor(((k + 1) * p.n) / splits);
    values.push(scoreOf(sliceRows(p, a, b)));
  }
  const mean = values.reduce((s, v) => s + v, 0) / splits;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / splits);
  return { mean, std, values };
}

function softmaxRows(m: FeatureMatrix): FeatureMatrix {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.n; i++) {
    let mx = -Infinity;
    for (let c = 0; c < m.d; c++) mx = Math.max(mx, m.data[i * m.d + c]);
    let s = 0;
    for (let c = 0; c < m.d; c++) s += out[i * m.d + c] = Math.exp(m.data[i * m.d + c] - mx);
    for (let c = 0; c < m.d; c++) out[i * m.d + c] /= s;
  }
  return { data: out, n: m.n, d: m.d };
}
