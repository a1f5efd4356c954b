// An exponential moving average of the generator's weights (Karras et al. 2018, Yazıcı et al.
// 2019): samples from the averaged generator are usually better than from the live one, whose
// weights oscillate with the adversarial game. The average lives in a shadow module of the same
// architecture, to sample from and to save (as `generator_ema`) beside the generator.
//
//   shadow ← β·shadow + (1 − β)·θ            after each generator step
//
// Warm-up: with warmup (the default) the decay at update(step) is
//   β(step) = min(decay, (1 + step) / (10 + step))
// (TensorFlow's ExponentialMovingAverage with num_updates), so the first updates follow the
// generator closely (β = 0.1 at step 0, 0.5 at step 8, 0.9 at step 80) instead of averaging in
// the random initial weights for thousands of steps. Without it β = decay throughout.
//
// Buffers (BatchNorm running statistics, spectral norm's u and v): with includeBuffers (default)
// floating-point buffers are averaged with the same β as the parameters (timm's ModelEmaV2,
// BigGAN-PyTorch's ema) and integer ones (num_batches_tracked) copied; with includeBuffers false
// update() leaves the shadow's buffers alone (they keep the values copied at construction), and
// syncBuffers() copies the generator's buffers over, StyleGAN2-ADA's choice, when wanted.
import { checkOptionKeys, invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { isFloatingDtype } from '../tensor/dtype';
import { noGrad } from '../autograd';
import { AnyModule, LoadStateDictResult, Module, StateDict } from '../nn/module';
import { cloneModule } from '../nn/clone';

export interface GeneratorEmaOptions {
  /** the decay β (default 0.999) */
  decay?: number;
  /** ramp β as min(decay, (1 + step) / (10 + step)); default true */
  warmup?: boolean;
  /** average floating-point buffers too (integer buffers are copied); default true */
  includeBuffers?: boolean;
  /**
   * a module of the generator's architecture to hold the average (its values are overwritten by
   * the generator's now); default: cloneModule(generator). Owned by the EMA from then on.
   */
  shadow?: AnyModule;
}

// The shadow (options.shadow, or the copy made at construction) lacks what the generator has.
function shadowMismatch(kind: string, name: string): TorchError {
  return invalidArgument(`GeneratorEma.update(): the shadow has no ${kind} '${name}'`, {
    parameter: 'GeneratorEma options.shadow', expected: `a copy of the generator (with its ${kind} '${name}')`, received: `a module without ${kind} '${name}'`,
  });
}

export class GeneratorEma {
  readonly generator: AnyModule;
  /** the averaged generator: sample from it (its parameters do not require grad) */
  readonly module: AnyModule;
  readonly decay: number;
  readonly warmup: boolean;
  readonly includeBuffers: boolean;

  constructor(generator: AnyModule, options: GeneratorEmaOptions = {}) {
    const where = 'GeneratorEma()';
    if (!(generator instanceof Module)) throw invalidParameterError('generator', 'a Module', generator);
    checkOptionKeys(where, options, ['decay', 'warmup', 'includeBuffers', 'shadow']);
    const decay = options.decay ?? 0.999;
    if (!is.finite(decay) || decay < 0 || decay > 1) throw invalidParameterError(`${where} options.decay`, 'a number in [0, 1]', decay);
    const warmup = options.warmup ?? true;
    if (!is.bool(warmup)) throw invalidParameterError(`${where} options.warmup`, 'a boolean', warmup);
    const includeBuffers = options.includeBuffers ?? true;
    if (!is.bool(includeBuffers)) throw invalidParameterError(`${where} options.includeBuffers`, 'a boolean', includeBuffers);
    if (options.shadow !== undefined) {
      if (!(options.shadow instanceof Module)) throw invalidParameterError(`${where} options.shadow`, 'a Module', options.shadow);
      if (options.shadow === generator) throw invalidParameterError(`${where} options.shadow`, 'a different module from the generator', 'the generator itself');
      const own = Object.keys(options.shadow.stateDict());
      const theirs = Object.keys(generator.stateDict());
      if (own.join('\n') !== theirs.join('\n')) {
        throw invalidParameterError(`${where} options.shadow`, `a module with the generator's state-dict keys (${theirs.length})`, `a module with ${own.length} different key(s)`);
      }
      options.shadow.loadStateDict(generator.stateDict());
      this.module = options.shadow;
    } else {
      this.module = cloneModule(generator);
    }
    this.module.requiresGrad_(false);
    this.generator = generator;
    this.decay = decay;
    this.warmup = warmup;
    this.includeBuffers = includeBuffers;
  }

  /** The β that update(step) uses. */
  decayAt(step: number): number {
    if (!is.nonNegativeInteger(step)) throw invalidParameterError('step', 'a non-negative integer', step);
    return this.warmup ? Math.min(this.decay, (1 + step) / (10 + step)) : this.decay;
  }

  /**
   * Moves the shadow toward the generator: shadow ← β·shadow + (1 − β)·θ for every parameter
   * (and floating buffer with includeBuffers), β = decayAt(step). Call it after each generator
   * step with that step's 0-based index. Returns β. Allocates nothing that outlives the call.
   */
  update(step: number): number {
    const beta = this.decayAt(step);
    const weight = 1 - beta;
    const shadowParams = new Map(this.module.namedParameters());
    const shadowBuffers = this.includeBuffers ? new Map(this.module.namedBuffers()) : null;
    noGrad(() => {
      for (const [name, p] of this.generator.namedParameters()) {
        const s = shadowParams.get(name);
        if (s === undefined) throw shadowMismatch('parameter', name);
        if (weight !== 0) s.lerp_(p, weight);
      }
      if (shadowBuffers === null) return;
      for (const [name, b] of this.generator.namedBuffers()) {
        const s = shadowBuffers.get(name);
        if (s === undefined) throw shadowMismatch('buffer', name);
        if (!isFloatingDtype(b.dtype)) s.copy_(b);
        else if (weight !== 0) s.lerp_(b, weight);
      }
    });
    return beta;
  }

  /** Copies every buffer of the generator into the shadow (for includeBuffers: false). */
  syncBuffers(): void {
    const shadowBuffers = new Map(this.module.namedBuffers());
    noGrad(() => {
      for (const [name, b] of this.generator.namedBuffers()) shadowBuffers.get(name)?.copy_(b);
    });
  }

  /** The shadow's state dict (live tensors, PyTorch key names): save it as `generator_ema`. */
  stateDict(prefix = ''): StateDict {
    return this.module.stateDict(prefix);
  }

  /** Restores the shadow from a state dict saved by stateDict() (e.g. on resume). */
  loadStateDict(dict: StateDict | Map<string, Tensor>, options: { strict?: boolean } = {}, source?: string): LoadStateDictResult {
    return this.module.loadStateDict(dict, options, source);
  }

  /** Frees the shadow's tensors (not the generator's). */
  dispose(): void {
    this.module.dispose();
  }
}
