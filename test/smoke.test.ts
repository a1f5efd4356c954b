import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';

test('add broadcasts and matches hand arithmetic', () => {
  const a = tg.tensor([[1, 2], [3, 4]]);
  const b = tg.tensor([10, 20]);
  assert.equal(a.add(b).toArray(), [11, 22, 13, 24]);
});

test('d/dx of sum(x^3) is 3x^2; second derivative via createGraph is 6x', () => {
  const x = tg.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const [g] = tg.autograd.grad(x.pow(3).sum(), x, { createGraph: true });
  assert.equal(g!.toArray(), [3, 12, 27]);
  const [gg] = tg.autograd.grad(g!.sum(), x);
  assert.equal(gg!.toArray(), [6, 12, 18]);
});

test.run();
