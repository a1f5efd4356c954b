// Random generators per JS environment (native/random.cc): a worker thread's draws do not shift
// the main thread's stream (nor the reverse), every random op draws from the environment's
// generator, and a fresh environment seeded with s draws what PyTorch's default generator seeded
// with s draws (the values below were printed by PyTorch 1.13 and 2.13: torch.manual_seed(0);
// torch.rand(4), and torch.manual_seed(0); torch.randn(3)).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tg from '../lib';

const root = path.resolve(__dirname, '..');

test('a fresh environment seeded with 0 draws what PyTorch draws (rand, randn)', () => {
  tg.manualSeed(0);
  const u = tg.rand([4]);
  const n = tg.randn([3]);
  const pu = [0.49625658988952637, 0.7682217955589294, 0.08847743272781372, 0.13203048706054688];
  const pn = [1.5409960746765137, -0.293428897857666, -2.1787893772125244];
  tg.manualSeed(0);
  const n0 = tg.randn([3]);
  u.toArray().forEach((v: number, i: number) => assert.ok(Math.abs(v - pu[i]) < 1e-7, `rand[${i}] ${v} vs ${pu[i]}`));
  n0.toArray().forEach((v: number, i: number) => assert.ok(Math.abs(v - pn[i]) < 1e-6, `randn[${i}] ${v} vs ${pn[i]}`));
  for (const t of [u, n, n0]) t.dispose();
});

test('a worker thread drawing random numbers in the middle of the main thread\'s stream does not shift it', async () => {
  // the truth: the same two draws with nothing in between
  tg.manualSeed(5);
  const whole = tg.cat([tg.randn([1000]), tg.randn([1000])]);
  tg.manualSeed(5);
  const first = tg.randn([1000]);
  // the worker seeds and draws from ITS generator, many times, while the main thread waits
  const drawn = await new Promise<number>((resolve, reject) => {
    const w = new Worker(
      `require('tsx/cjs'); const tg = require(${JSON.stringify(path.join(root, 'lib'))});
       const { parentPort } = require('worker_threads');
       tg.manualSeed(123); let s = 0;
       for (let i = 0; i < 50; i++) { const t = tg.randn([1000]); s += t.sum().item(); t.dispose();
         const d = tg.F.dropout(tg.ones([100]), 0.5, true); d.dispose(); const r = tg.rand([10]); r.dispose(); }
       parentPort.postMessage(s);`,
      { eval: true },
    );
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.ok(Number.isFinite(drawn));
  const second = tg.randn([1000]);
  const all = whole.toArray() as number[];
  const got = [...(first.toArray() as number[]), ...(second.toArray() as number[])];
  for (let i = 0; i < all.length; i++) if (all[i] !== got[i]) assert.unreachable(`draw ${i}: ${got[i]} after the worker's draws, ${all[i]} without`);
  for (const t of [whole, first, second]) t.dispose();
});

test('dropout draws from the environment generator: reproducible with manualSeed, unbiased, and p is checked', () => {
  const x = tg.ones([20000]);
  tg.manualSeed(9);
  const a = tg.F.dropout(x, 0.25, true);
  tg.manualSeed(9);
  const b = tg.F.dropout(x, 0.25, true);
  const av = a.toArray() as number[];
  assert.equal(av, b.toArray());
  const kept = av.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6), 'kept values are scaled by 1/(1-p)');
  const frac = kept.length / av.length;
  assert.ok(Math.abs(frac - 0.75) < 0.02, `kept fraction ${frac}`);
  const off = tg.F.dropout(x, 0.25, false);
  assert.equal(off.toArray(), x.toArray(), 'eval mode is the identity');
  const err = (() => { try { tg.F.dropout(x, 1.5, true); } catch (e) { return e as Error; } return null; })();
  assert.ok(err && /for p\b|'p'/.test(err.message) && /1\.5/.test(err.message), `p out of range is refused naming it: ${err?.message}`);
  for (const t of [x, a, b, off]) t.dispose();
});

test.run();
