// Whether a module treats the samples of a batch independently: output row i depends on input
// row i alone, and a forward over a batch changes no state by its size. GanTrainer uses it to run
// the critic once over real and fake samples together (one forward of 2N rows instead of two of
// N: the same numbers, fewer and larger kernel calls), which is exact only for such critics.
//
// A layer class declares it with `static readonly perSample = true`. The declaration is trusted
// only from the class that also defines the forward in use: a subclass that overrides forward()
// (it may mix samples, e.g. a minibatch-stddev layer) is unknown until it declares perSample
// itself. Things that make a declared layer mix samples anyway:
//   - running statistics updated in training mode (BatchNorm; InstanceNorm with
//     trackRunningStats): one update over 2N rows is not two updates over N;
//   - spectral normalisation: each training-mode forward runs a power iteration, so two forwards
//     see two different normalised weights;
//   - randomness (Dropout): the draws would fall on different rows (Dropout declares nothing).
import type { AnyModule } from './module';

/** The reasons `module` may mix samples (a path and why, one per offending submodule); [] when it treats them independently. */
export function crossSampleModules(module: AnyModule): string[] {
  const found: string[] = [];
  for (const [path, m] of module.namedModules()) {
    const name = path === '' ? m.typeName : `${path} (${m.typeName})`;
    if (!declaresPerSample(m)) {
      found.push(`${name}: not declared per-sample`);
      continue;
    }
    if (m.training && m.namedBuffers('', false).some(([b]) => b === 'running_mean' || b === 'running_var')) {
      found.push(`${name}: updates running statistics in training mode`);
    }
    if ((m as { _spectralNorm?: unknown[] })._spectralNorm?.length && m.training) {
      found.push(`${name}: spectral normalisation (a power iteration per forward)`);
    }
  }
  return found;
}

/** True when the class that defines m's forward (or a subclass of it) declares perSample. */
function declaresPerSample(m: object): boolean {
  for (let proto = Object.getPrototypeOf(m); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = proto.constructor as { perSample?: unknown };
    if (Object.prototype.hasOwnProperty.call(ctor, 'perSample')) return ctor.perSample === true;
    if (Object.prototype.hasOwnProperty.call(proto, 'forward')) return false;
  }
  return false;
}
