// evaluate --truncation: a threshold no draw reaches changes nothing (the same noise as without),
// a tight one changes the samples and costs FID (less variety, as the truncation trick should),
// the JSON records ψ, and bad thresholds are refused naming the flag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { evaluateCheckpoint, realSide } from '../lib/cli/evaluate';
import { pretrainedCheckpoint } from '../lib/cli/pretrained';
import { loadClassifier, classifierPath } from '../lib/metrics';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

const dir = pretrainedCheckpoint('fashion');
const clf = loadClassifier(classifierPath('fashion'));
const real = realSide('fashion', clf, 2000);
const run = (truncation?: number) => evaluateCheckpoint(dir, { n: 2000, seed: 3, real, kidSubsets: 10, kidSubsetSize: 500, ...(truncation !== undefined ? { truncation } : {}) });

test('a threshold no N(0, 1) draw reaches gives the untruncated numbers; ψ 0.5 changes the samples, raising FID (less variety), and is recorded', () => {
  const plain = run();
  const wide = run(1e6);
  assert.is(plain.truncation, undefined);
  assert.is(wide.truncation, 1e6);
  assert.is(wide.generated.fid, plain.generated.fid);
  assert.is(wide.generated.score.mean, plain.generated.score.mean);
  const tight = run(0.5);
  assert.is(tight.truncation, 0.5);
  assert.ok(tight.generated.fid !== plain.generated.fid, 'truncation changed the samples');
  // fewer distinct outputs: near the mode of the noise, the generator's samples are more alike, so FID rises
  assert.ok(tight.generated.fid > plain.generated.fid, `FID ψ 0.5 ${tight.generated.fid} vs plain ${plain.generated.fid}`);
});

test('--truncation: a non-positive ψ is refused naming the flag', () => {
  for (const psi of [0, -1]) {
    try {
      run(psi);
      assert.unreachable('accepted');
    } catch (e) {
      assert.match((e as Error).message, /--truncation expects a positive number \(the truncation threshold\)/);
      assert.is((e as tg.TorchError).parameter, '--truncation');
    }
  }
});

test.run();
