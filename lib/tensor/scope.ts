// Deterministic memory: every tensor made inside tidy(fn) is freed when fn
// returns, except what it returns and what was keep()-ed. Finalizers are a backstop.
import { AsyncLocalStorage } from 'async_hooks';
import { N } from '../native';
import type { NativeHandle } from '../binding-types';
import { invalidArgument } from '../errors';

export interface Disposable {
  dispose(): void;
  /** @internal the native handle, freed by the GC backstop */
  readonly _h: unknown;
  /** @internal true once the handle was freed through this object */
  _freed?: boolean;
}

type Scope = Disposable[];

let syncScope: Scope | null = null;
const asyncScope = new AsyncLocalStorage<Scope>();
const kept = new WeakSet<Disposable>();

// The backstop for tensors no scope will free: when their JS object is collected,
// the native tensor is freed (dispose is idempotent, so an explicit dispose first is fine).
// Tensors inside a scope are not registered: the scope frees them, at no GC cost.
const freeHandle = (h: unknown): void => {
  N.dispose(h as NativeHandle);
};
// Many handles go to the binding as one BigUint64Array: it reads them as memory, not element by element.
function freeHandles(hs: unknown[]): void {
  const bits = new BigUint64Array(hs.length);
  for (let i = 0; i < hs.length; i++) bits[i] = hs[i] as bigint;
  N.disposeMany(bits);
}
const backstop = new FinalizationRegistry<unknown>((h) => freeHandle(h));

// Registering with a FinalizationRegistry costs ~0.4 µs per object (with its GC work), as much
// as the op itself on small tensors. Most unscoped tensors are disposed right away (a loop of
// op + dispose), so registration is deferred: new tensors wait in `pending`, and at the end of
// the current job (a microtask) or every PENDING_MAX tensors, those still alive are registered.
// A leaked tensor is therefore collectable as before, at most one job later.
const PENDING_MAX = 1024;
let pending: Disposable[] = [];
let flushQueued = false;
function registerPending(): void {
  flushQueued = false;
  const batch = pending;
  pending = [];
  for (const t of batch) if (!t._freed) backstop.register(t, t._h);
}
function unscoped(t: Disposable): void {
  pending.push(t);
  if (pending.length >= PENDING_MAX) registerPending();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(registerPending);
  }
}

// AsyncLocalStorage.getStore() is only asked while some tidyAsync is running.
let asyncScopesRunning = 0;

/** Called for every new tensor: records it in the innermost scope, or registers the GC backstop. */
export function track(t: Disposable): void {
  const scope = syncScope ?? (asyncScopesRunning > 0 ? asyncScope.getStore() : undefined);
  if (scope) scope.push(t);
  else unscoped(t);
}

/** Excludes a tensor from the scopes that would free it; returns it. */
export function keep<T extends Disposable>(t: T): T {
  if (!kept.has(t)) {
    kept.add(t);
    unscoped(t);
  }
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if (typeof (value as Disposable).dispose === 'function' && (value as { _h?: unknown })._h !== undefined) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

function release(scope: Scope, result: unknown, parent: Scope | null | undefined): void {
  const returned = new Set<Disposable>();
  collect(result, returned);
  const doomed: unknown[] = [];
  for (const t of scope) {
    if (returned.has(t)) {
      if (kept.has(t)) continue;
      if (parent) parent.push(t);
      else unscoped(t);
    } else if (!t._freed && !kept.has(t)) {
      t._freed = true;
      doomed.push(t._h);
    }
  }
  // One native call for the whole scope; tensors disposed explicitly inside it
  // (e.g. Sequential's intermediates) were skipped above.
  if (doomed.length) freeHandles(doomed);
}

/**
 * Frees every tensor in value now: a tensor, or arrays, Maps and plain objects of them (nested a
 * few levels, as tidy() finds returned tensors), in one native call. Tensors already freed are
 * skipped, so it is safe to call twice.
 */
export function dispose(value: unknown): void {
  const handles: unknown[] = [];
  gatherHandles(value, handles, 0);
  if (handles.length) freeHandles(handles);
}

// Marking each tensor freed as it is found also skips duplicates.
function gatherHandles(value: unknown, out: unknown[], depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  const t = value as Disposable;
  if (typeof t.dispose === 'function' && t._h !== undefined) {
    if (!t._freed) {
      t._freed = true;
      out.push(t._h);
    }
  } else if (Array.isArray(value)) for (const v of value) gatherHandles(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) gatherHandles(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) gatherHandles(v, out, depth + 1);
}

/** Runs fn; frees every tensor it made except those it returns (in arrays/objects too). */
export function tidy<T>(fn: () => T): T {
  const parent = syncScope ?? (asyncScopesRunning > 0 ? asyncScope.getStore() : undefined) ?? null;
  const scope: Scope = [];
  const saved = syncScope;
  syncScope = scope;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    syncScope = saved;
    release(scope, undefined, parent);
    throw e;
  }
  syncScope = saved;
  if (result instanceof Promise) {
    release(scope, undefined, parent);
    throw invalidArgument('tidy(fn): fn returned a Promise; use tidyAsync for async functions', { parameter: 'fn', expected: 'a synchronous function', received: 'a function returning a Promise' });
  }
  release(scope, result, parent);
  return result;
}

/** The async form of tidy: tensors made anywhere in fn's async call tree are tracked. */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const parent = syncScope ?? (asyncScopesRunning > 0 ? asyncScope.getStore() : undefined) ?? null;
  const scope: Scope = [];
  const saved = syncScope;
  syncScope = null;
  let result: T;
  asyncScopesRunning++;
  try {
    result = await asyncScope.run(scope, fn);
  } catch (e) {
    release(scope, undefined, parent);
    throw e;
  } finally {
    asyncScopesRunning--;
    syncScope = saved;
  }
  release(scope, result, parent);
  return result;
}
