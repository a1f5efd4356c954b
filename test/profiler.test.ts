// The op profiler (lib/profiler.ts over native/profiler.cc): it counts the ops that ran, by the
// names libtorch gives them, and splits time into self and total consistently.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { torchError } from './helpers/errors';

const row = (p: tg.OpProfile, name: string) => p.ops.find((r) => r.name === name);

test('profileOps: counts each op called inside fn, and the autograd nodes of a backward', () => {
  const a = tg.randn([32, 48]).requiresGrad_(true);
  const b = tg.randn([48, 16]);
  const { result, profile } = tg.profileOps(() => {
    for (let i = 0; i < 3; i++) tg.tidy(() => a.matmul(b).sum().backward());
    return 'done';
  });
  assert.is(result, 'done');
  // 3 forward products, and 3 in MmBackward0 (the gradient of a only: b needs none)
  assert.is(row(profile, 'aten::mm')?.calls, 6);
  assert.is(row(profile, 'aten::matmul')?.calls, 3);
  assert.is(row(profile, 'MmBackward0')?.calls, 3);
  for (const r of profile.ops) {
    assert.ok(r.selfMs >= 0 && r.selfMs <= r.totalMs + 1e-9, `${r.name}: self ${r.selfMs} within total ${r.totalMs}`);
  }
  // matmul's total contains the mm it called; its self time excludes it
  const matmul = row(profile, 'aten::matmul')!;
  // (2-D matmul calls only mm: its children's time is the forward products', part of all mm time;
  // not a fraction of it, since the backward products may take longer or shorter)
  const childMs = matmul.totalMs - matmul.selfMs;
  assert.ok(childMs > 0, `aten::matmul total includes the forward mm (children ${childMs} ms)`);
  assert.ok(childMs <= row(profile, 'aten::mm')!.totalMs + 1e-9, `aten::matmul's children (${childMs} ms) are within all mm time`);
  assert.ok(Math.abs(profile.selfMsTotal - profile.ops.reduce((s, r) => s + r.selfMs, 0)) < 1e-9);
  assert.ok(profile.ops.every((r, i) => i === 0 || profile.ops[i - 1].selfMs >= r.selfMs), 'sorted by self time');
  assert.match(tg.formatOpProfile(profile, 5), /aten::mm/);
  a.dispose();
  b.dispose();
});

test('byCaller: each op keyed by its caller and the caller\'s caller', () => {
  const a = tg.randn([16, 16]);
  const { profile } = tg.profileOps(() => tg.tidy(() => a.matmul(a)), { byCaller: true });
  assert.is(row(profile, 'aten::mm in aten::matmul')?.calls, 1);
  const b = tg.randn([16, 16]).requiresGrad_(true);
  const deep = tg.profileOps(() => tg.tidy(() => b.matmul(a).sum().backward()), { byCaller: true }).profile;
  assert.ok(deep.ops.some((r) => /^aten::mm in MmBackward0 in autograd::engine::evaluate_function: MmBackward0$/.test(r.name)), deep.ops.map((r) => r.name).join('; '));
  b.dispose();
  assert.is(row(profile, 'aten::matmul (top level)')?.calls, 1);
  assert.is(row(profile, 'aten::mm'), undefined);
  assert.is(torchError(() => tg.profileOps(() => 0, { byCaller: 1 as unknown as boolean })).parameter, 'options.byCaller');
  assert.not.ok(tg.profileOps(() => 0).profile.ops.some((r) => / in /.test(r.name)), 'a later session without byCaller keys by name only');
  a.dispose();
});

test('nothing is recorded outside a session, and a new session starts empty', () => {
  const x = tg.randn([8, 8]);
  tg.tidy(() => x.mm(x));
  const { profile } = tg.profileOps(() => tg.tidy(() => x.add(1)));
  assert.is(row(profile, 'aten::mm'), undefined);
  // add(Tensor, Scalar) is recorded as aten::add twice (the Scalar overload calls the Tensor one)
  assert.ok((row(profile, 'aten::add')?.calls ?? 0) >= 1);
  x.dispose();
});

test('one session at a time: a second start and a stop without start are refused; a throwing fn stops it', () => {
  tg.startProfiler();
  const e = torchError(() => tg.startProfiler());
  assert.is(e.code, 'ERR_INVALID_STATE');
  assert.match(e.message, /already running/);
  tg.stopProfiler();
  assert.match(torchError(() => tg.stopProfiler()).message, /not running/);
  assert.throws(() => tg.profileOps(() => { throw new Error('boom'); }), /boom/);
  tg.startProfiler(); // not left running by the throw
  tg.stopProfiler();
  assert.is(torchError(() => tg.profileOps(42 as unknown as () => void)).parameter, 'fn');
});

test('profileOps of an async function resolves with the result and the profile', async () => {
  const x = tg.randn([4, 4]);
  const { result, profile } = await tg.profileOps(async () => {
    await new Promise((r) => setTimeout(r, 5));
    return tg.tidy(() => x.mul(2).sum().item());
  });
  assert.ok(Number.isFinite(result));
  assert.ok((row(profile, 'aten::mul')?.calls ?? 0) >= 1);
  assert.is(row(profile, 'aten::mm'), undefined);
  x.dispose();
});

test.run();
