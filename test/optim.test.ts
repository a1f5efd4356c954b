// Optimizers against PyTorch 1.13 trajectories (test/fixtures/optim_trajectories.json,
// made by scripts/fixtures/make_nn_fixtures.py): same initial float64 weights,
// same gradients, 5 steps; every step must agree within 1e-6 (it is ~1e-15).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { isTorchError } from './helpers/errors';
import fixture from './fixtures/optim_trajectories.json';

const { optim } = tg;
type Enc = { shape: number[]; dtype: string; data: number[] };
const fromEnc = (e: Enc): Tensor => tg.tensor(Float64Array.from(e.data), e.shape, { dtype: 'float64' });

function make(name: string, params: Tensor[], options: Record<string, unknown>): tg.optim.Optimizer<object> {
  switch (name) {
    case 'Adam': return new optim.Adam(params, options);
    case 'RMSprop': return new optim.RMSprop(params, options);
    case 'SGD': return new optim.SGD(params, options as unknown as tg.optim.SGDOptions);
    default: throw new Error(name);
  }
}

function maxErr(t: Tensor, e: Enc): number {
  assert.equal(t.shape, e.shape);
  const a = t.toArray();
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - e.data[i])), 0);
}

function freshParams(): Tensor[] {
  return fixture.init.map((e) => fromEnc(e as Enc).requiresGrad_(true));
}
function setGrads(params: Tensor[], step: number): void {
  params.forEach((p, i) => { p.grad = fromEnc(fixture.grads[step][i] as Enc); });
}

for (const c of fixture.cases) {
  test(`${c.name}: ${fixture.steps} steps equal PyTorch ${fixture.torch} within 1e-6`, () => {
    const params = freshParams();
    const opt = make(c.optimizer, params, c.options);
    for (let s = 0; s < fixture.steps; s++) {
      setGrads(params, s);
      opt.step();
      params.forEach((p, i) => {
        const err = maxErr(p, c.trajectory[s][i] as Enc);
        assert.ok(err <= 1e-6, `step ${s + 1}, param ${i}: max error ${err}`);
      });
    }
    const st = opt.state.get(params[0])!;
    assert.is(st.step, fixture.steps);
    for (const [k, e] of Object.entries(c.finalState0)) {
      assert.ok(st[k] instanceof Tensor, `state ${k}`);
      assert.ok(maxErr(st[k] as Tensor, e as Enc) <= 1e-6, `state ${k}`);
    }
    assert.ok(params.every((p) => p.isLeaf && p.gradFn === null), 'no graph recorded');
    opt.dispose();
  });

  test(`${c.name}: stateDict after 2 steps + loadStateDict into a new optimizer resumes the trajectory`, () => {
    const a = freshParams();
    const optA = make(c.optimizer, a, c.options);
    for (let s = 0; s < 2; s++) {
      setGrads(a, s);
      optA.step();
    }
    const sd = optA.stateDict();
    const b = a.map((p) => p.detach().clone().requiresGrad_(true));
    const optB = make(c.optimizer, b, c.name.startsWith('sgd') ? { lr: 1 } : {});
    optB.loadStateDict(sd);
    assert.equal(optB.paramGroups[0].params.length, 2);
    for (const k of Object.keys(c.options)) assert.equal((optB.paramGroups[0] as Record<string, unknown>)[k], (c.options as Record<string, unknown>)[k]);
    for (let s = 2; s < fixture.steps; s++) {
      setGrads(b, s);
      optB.step();
    }
    b.forEach((p, i) => assert.ok(maxErr(p, c.trajectory[fixture.steps - 1][i] as Enc) <= 1e-6, `param ${i}`));
    // the loaded state is a copy: stepping B did not touch A's state
    assert.is(optA.state.get(a[0])!.step, 2);
  });
}

test('steps leak no tensors and record no graph', () => {
  const lin = new tg.nn.Linear(8, 4);
  for (const opt of [
    new optim.Adam(lin.parameters(), { amsgrad: true, weightDecay: 0.1 }),
    new optim.RMSprop(lin.parameters(), { centered: true, momentum: 0.9 }),
    new optim.SGD(lin.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true }),
  ]) {
    const run = () => {
      tg.tidy(() => {
        opt.zeroGrad();
        lin.call(tg.randn([16, 8])).square().mean().backward();
      });
      opt.step();
    };
    run(); // creates the state
    const before = tg.memory().tensors;
    for (let i = 0; i < 5; i++) run();
    assert.is(tg.memory().tensors, before, `${opt.constructor.name} leaks`);
    assert.ok(lin.parameters().every((p) => p.isLeaf && p.gradFn === null));
    const n = tg.memory().tensors;
    opt.dispose();
    assert.ok(tg.memory().tensors < n, 'dispose frees the state');
  }
  lin.dispose();
});

test('Adam lowers a regression loss; param groups keep their own lr', () => {
  tg.manualSeed(3);
  const lin = new tg.nn.Linear(3, 1);
  const x = tg.randn([64, 3]);
  const target = x.matmul(tg.tensor([[1], [-2], [0.5]])).add(0.3);
  const loss = () => tg.F.mseLoss(lin.call(x), target);
  const first = loss().item();
  const opt = new optim.Adam([{ params: [lin.weight] }, { params: [lin.bias!], lr: 0.05 }], { lr: 0.05 });
  for (let i = 0; i < 200; i++) {
    opt.zeroGrad();
    tg.tidy(() => loss().backward());
    opt.step();
  }
  assert.ok(loss().item() < first / 100, `loss ${first} -> ${loss().item()}`);
  opt.paramGroups[1].lr = 0;
  const b = lin.bias!.item();
  tg.tidy(() => loss().backward());
  opt.step();
  assert.is(lin.bias!.item(), b, 'lr 0 group untouched');
  // step(closure) returns the loss
  const l = opt.step(() => {
    opt.zeroGrad();
    const v = loss();
    v.backward();
    return v;
  });
  assert.ok(l instanceof Tensor);
});

test('parameters without grad are skipped; zeroGrad(false) zero-fills', () => {
  const p = tg.ones([2], { requiresGrad: true });
  const q = tg.ones([2], { requiresGrad: true });
  const opt = new optim.SGD([p, q], { lr: 1 });
  p.grad = tg.tensor([1, 2]);
  opt.step();
  assert.equal(p.toArray(), [0, -1]);
  assert.equal(q.toArray(), [1, 1]);
  assert.ok(!opt.state.has(q));
  opt.zeroGrad(false);
  assert.equal(p.grad!.toArray(), [0, 0]);
  opt.zeroGrad();
  assert.is(p.grad, null);
});

test('hyperparameters and params are validated with clear errors', () => {
  const p = tg.zeros([2], { requiresGrad: true });
  assert.throws(() => new optim.Adam([p], { lr: -1 }), /Expected a non-negative number for options lr but received number -1/);
  assert.throws(() => new optim.Adam([p], { betas: [0.9, 1] }), /betas\[1\]/);
  assert.throws(() => new optim.Adam([p], { lR: 1 } as never), /Unknown option 'lR' for Adam\(\)/);
  assert.throws(() => new optim.RMSprop([p], { momentum: -0.1 }), /momentum/);
  assert.throws(() => new optim.SGD([p], {} as never), /lr/);
  assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), isTorchError('ERR_INVALID_ARG', /Nesterov momentum requires a momentum and zero dampening/));
  assert.throws(() => new optim.Adam([]), isTorchError('ERR_INVALID_ARG', /empty parameter list/, { parameter: 'params' }));
  assert.throws(() => new optim.Adam([p, p]), isTorchError('ERR_INVALID_ARG', /appears twice/, { parameter: 'params[1]' }));
  assert.throws(() => new optim.Adam([{ params: [p] }, { params: [p] }]), /more than one parameter group/);
  assert.throws(() => new optim.Adam([p.mul(2)]), /non-leaf/);
  assert.throws(() => new optim.Adam([tg.zeros([2], { dtype: 'int64' })]), /floating-point/);
  assert.throws(() => new optim.Adam(p as never), /iterable/);
  assert.throws(() => new optim.Adam([{ params: [p], momentum: 1 } as never]), isTorchError('ERR_INVALID_ARG', /Unknown option 'momentum' for a parameter group; expected one of: params, lr/, { received: "'momentum'" }));
  const opt = new optim.Adam([p]);
  const sd = opt.stateDict();
  const other = new optim.Adam([p, tg.zeros([3], { requiresGrad: true })]);
  assert.throws(() => other.loadStateDict(sd), isTorchError('ERR_INVALID_ARG', /has 1 parameters, this optimizer's has 2/, { parameter: 'state dict paramGroups[0].params' }));
});

test.run();
