// Why a classifier score is what it is: log(score) = H(p(y)) − E_x[H(p(y|x))] on each split, so
// a score below the real data's comes either from unbalanced classes (the marginal entropy H(p(y))
// below ln 10) or from unconfident samples (the mean per-sample entropy above the real data's).
// This prints both terms, the predicted-class histogram and the share of confident samples
// (top probability ≥ 0.9) for a checkpoint's generated images beside the real train and test
// images, with the splits `torch-gan evaluate` uses (10 contiguous parts).
//   npx tsx scripts/results/score-breakdown.ts --checkpoint RUN/evaluated/ckpt-00020000 [--dset mnist]
//     [--n 10000] [--weights ema|live] [--truncation PSI] [--json OUT]
import * as path from 'path';
import { generatedOutputs, loadClassifier, classifierPath, classifierScore, FeatureMatrix, sliceRows, predictedClasses, MetricDset } from '../../lib/metrics';
import { loadCheckpointGenerator, realSide } from '../../lib/cli/evaluate';
import type { GeneratorWeights } from '../../lib/gan/sampling-weights';
import { writeJsonAtomic } from '../../lib/io/atomic';

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ckptArg = flag('checkpoint');
if (!ckptArg) throw new Error('--checkpoint is required (a checkpoints folder or one ckpt-N folder)');
const n = Number(flag('n') ?? 10000);
const psi = flag('truncation') === undefined ? undefined : Number(flag('truncation'));
const SPLITS = 10;

interface Breakdown { n: number; score: number; marginalEntropy: number; meanSampleEntropy: number; confident: number; classShare: number[] }

function entropy(p: ArrayLike<number>, off: number, d: number): number {
  let h = 0;
  for (let c = 0; c < d; c++) { const v = p[off + c]; if (v > 0) h -= v * Math.log(v); }
  return h;
}

/** The two terms of log(score), averaged over the splits, and what the classifier predicts. */
function breakdown(probs: FeatureMatrix): Breakdown {
  const { n: rows, d } = probs;
  const size = Math.floor(rows / SPLITS);
  let hm = 0, hs = 0;
  for (let s = 0; s < SPLITS; s++) {
    const part = sliceRows(probs, s * size, s === SPLITS - 1 ? rows : (s + 1) * size);
    const py = new Float64Array(d);
    let h = 0;
    for (let i = 0; i < part.n; i++) {
      for (let c = 0; c < d; c++) py[c] += part.data[i * d + c] / part.n;
      h += entropy(part.data, i * d, d) / part.n;
    }
    hm += entropy(py, 0, d) / SPLITS;
    hs += h / SPLITS;
  }
  const counts = new Array<number>(d).fill(0);
  const predicted = predictedClasses(probs);
  let confident = 0;
  for (let i = 0; i < rows; i++) {
    counts[predicted[i]]++;
    if (probs.data[i * d + predicted[i]] >= 0.9) confident++;
  }
  return {
    n: rows, score: classifierScore(probs, { splits: SPLITS }).mean, marginalEntropy: hm, meanSampleEntropy: hs,
    confident: confident / rows, classShare: counts.map((k) => k / rows),
  };
}

const g = loadCheckpointGenerator(path.resolve(ckptArg), {
  dset: flag('dset') as MetricDset | undefined, weights: flag('weights') as GeneratorWeights | undefined, truncation: psi,
});
const { dset } = g;
const classifier = loadClassifier(classifierPath(dset));
const fake = generatedOutputs(g.generator, classifier, { n, seed: 0, ...g.noiseOptions });
const real = realSide(dset, classifier, n);
const rows = { generated: breakdown(fake.probs), train: breakdown(real.train.probs), test: breakdown(real.test.probs) };
g.generator.dispose();
classifier.dispose();

console.log(`checkpoint ${g.dir} (iteration ${g.step}, ${g.weights} weights${psi !== undefined ? `, truncation ${psi}` : ''}); ${dset}, ${SPLITS} splits; log(score) = H(p(y)) − E[H(p(y|x))], ln 10 = ${Math.log(10).toFixed(3)}`);
console.log('| images | n | score | H(p(y)) | E[H(p(y|x))] | top p ≥ 0.9 | smallest / largest class share |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [name, b] of Object.entries(rows)) {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  console.log(`| ${name} | ${b.n} | ${b.score.toFixed(2)} | ${b.marginalEntropy.toFixed(3)} | ${b.meanSampleEntropy.toFixed(3)} | ${pct(b.confident)} | ${pct(Math.min(...b.classShare))} / ${pct(Math.max(...b.classShare))} |`);
}
console.log(`generated class shares: ${rows.generated.classShare.map((v, c) => `${c}: ${(v * 100).toFixed(1)}%`).join(', ')}`);
const out = flag('json');
if (out) writeJsonAtomic(path.resolve(out), { checkpoint: g.dir, step: g.step, weights: g.weights, truncation: psi ?? null, dset, splits: SPLITS, ...rows });
