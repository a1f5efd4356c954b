// The critic as the penalties see it: a function of a batch or a module with forward(), and the
// guard that refuses batch norm inside a penalised critic (its per-sample gradient is not one).
import { invalidArgument, invalidParameterError } from '../errors';
import type { Tensor } from '../tensor/tensor';

/** A critic: a function of a batch, or a module with forward(). Its output has one value per sample ([N] or [N, 1]). */
export type Critic = ((x: Tensor) => Tensor) | { forward(x: Tensor): Tensor };

export function callCritic(critic: Critic, x: Tensor): Tensor {
  if (typeof critic === 'function') return critic(x);
  if (critic !== null && typeof critic === 'object' && typeof (critic as { forward?: unknown }).forward === 'function') {
    return (critic as { forward(x: Tensor): Tensor }).forward(x);
  }
  throw invalidParameterError('critic', 'a function of a batch or a module with forward()', critic);
}

/** Names (paths) of batch-norm layers inside a module tree; [] for a plain function. */
export function findBatchNorm(critic: unknown): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (m: unknown, path: string, depth: number): void => {
    if (m === null || typeof m !== 'object' || seen.has(m) || depth > 32) return;
    seen.add(m);
    const ctor = (m as object).constructor?.name ?? '';
    if (/^BatchNorm/.test(ctor) || /^SyncBatchNorm/.test(ctor)) found.push(path === '' ? ctor : `${path} (${ctor})`);
    for (const [name, child] of childrenOf(m)) visit(child, path === '' ? name : `${path}.${name}`, depth + 1);
  };
  visit(critic, '', 0);
  return found;
}

/** The direct submodules of a module, whatever the module API exposes. */
function childrenOf(m: object): [string, unknown][] {
  const anyM = m as Record<string, unknown>;
  if (typeof anyM.namedChildren === 'function') {
    const r = (anyM.namedChildren as () => unknown).call(m);
    return toPairs(r);
  }
  if (typeof anyM.children === 'function') {
    const r = (anyM.children as () => unknown).call(m);
    return toPairs(r);
  }
  for (const key of ['_modules', 'modules_', '_children']) {
    const v = anyM[key];
    if (v !== undefined && typeof v === 'object' && v !== null) return toPairs(v);
  }
  return [];
}

function toPairs(r: unknown): [string, unknown][] {
  if (r instanceof Map) return [...r.entries()].map(([k, v]) => [String(k), v]);
  if (Array.isArray(r)) return r.map((e, i) => (Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' ? [e[0], e[1]] : [String(i), e]));
  if (r !== null && typeof r === 'object' && typeof (r as Iterable<unknown>)[Symbol.iterator] === 'function') return toPairs([...(r as Iterable<unknown>)]);
  if (r !== null && typeof r === 'object') return Object.entries(r as object);
  return [];
}

/** Throws when the critic contains batch norm (unless allowed): a per-sample penalty is meaningless there. */
export function assertPenaltyCompatible(critic: unknown, where: string, allowBatchNorm = false): void {
  if (allowBatchNorm) return;
  const bn = findBatchNorm(critic);
  if (bn.length === 0) return;
  throw invalidArgument(
    `${where}: the critic contains batch normalization (${bn.join(', ')}). A gradient penalty constrains the critic's ` +
      `gradient with respect to each input sample separately, but batch norm makes every output depend on the whole ` +
      `batch, so the per-sample gradient is not what the penalty assumes (Gulrajani et al. 2017, "No critic batch ` +
      `normalization"). Use LayerNorm, InstanceNorm2d or no normalization in the critic (the DCGAN builders take ` +
      `normalization: 'layer' | 'instance' | 'none'), or pass allowBatchNormWithPenalty: true to do it anyway.`,
    { parameter: `${where} critic`, expected: 'a critic without batch normalization', received: `one with ${bn.join(', ')}` },
  );
}
