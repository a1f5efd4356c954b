// Modules and optimizers in safetensors files: a module's state dict under PyTorch's key
// names (what torch.nn.Module.load_state_dict reads), an optimizer's state tensors with its
// hyperparameters and step counts as JSON metadata. The format itself is io/safetensors.ts.
//
// lib/io imports lib/tensor and lib/errors only (lib/io/index.ts), not nn or optim: what saving
// and loading need of a module or an optimizer is the two small interfaces below, which nn's
// Module and optim's Optimizer (and anything shaped like them, e.g. GeneratorEma) satisfy.
import { checkOptionKeys, invalidArgument, invalidParameterError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { loadSafetensors, readSafetensorsHeader, safetensorsError, saveSafetensors } from './safetensors';

/** What saveModule/loadModule use of a module (nn's Module). */
export interface ModuleState {
  stateDict(): Record<string, Tensor>;
  /** copies the dict in; `source` names where it came from in error messages */
  loadStateDict(dict: Record<string, Tensor>, options?: { strict?: boolean }, source?: string): { missingKeys: string[]; unexpectedKeys: string[] };
}

/** A parameter's optimizer state: a step count and named tensors (optim's ParamState). */
type ParamState = { step: number } & { [key: string]: Tensor | number | null };
/** An optimizer's state dict: state by parameter index, hyperparameters per group (params as indices). */
interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: ({ params: number[] } & object)[];
}
/** What saveOptimizer/loadOptimizer use of an optimizer (optim's Optimizer); its class name tells the kind. */
export interface OptimizerState {
  stateDict(): OptimizerStateDict;
  /** restores the state; `source` names where it came from in error messages */
  loadStateDict(sd: OptimizerStateDict, source?: string): void;
}

// ------------------------------------------------------------------ modules

/** Saves a module's state dict (parameters and persistent buffers, PyTorch key names). */
export function saveModule(module: ModuleState, file: string, metadata?: Record<string, string>): void {
  if (module === null || typeof module !== 'object' || typeof (module as ModuleState).stateDict !== 'function') {
    throw invalidParameterError('module', 'a Module', module);
  }
  saveSafetensors(file, module.stateDict(), metadata);
}

/**
 * Loads a state dict saved by saveModule (or by PyTorch via safetensors) into
 * `module`, in place (same Tensor objects; values cast to the module's dtype and
 * device). strict (default): missing or unexpected keys are an error, naming the file.
 */
export function loadModule(module: ModuleState, file: string, options: { strict?: boolean } = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
  if (module === null || typeof module !== 'object' || typeof (module as ModuleState).loadStateDict !== 'function') {
    throw invalidParameterError('module', 'a Module', module);
  }
  checkOptionKeys('loadModule()', options, ['strict']);
  const tensors = loadSafetensors(file);
  try {
    return module.loadStateDict(tensors, options, file);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

// ------------------------------------------------------------------ optimizers

const OPT_KEY = 'torch_gan.optimizer';

/**
 * Saves an optimizer's state (for resuming training): state tensors as
 * `state.<param index>.<name>`, hyperparameters and step counts as JSON in the
 * metadata entry 'torch_gan.optimizer'.
 */
export function saveOptimizer(optimizer: OptimizerState, file: string, metadata?: Record<string, string>): void {
  if (optimizer === null || typeof optimizer !== 'object' || typeof (optimizer as OptimizerState).stateDict !== 'function') {
    throw invalidParameterError('optimizer', 'an Optimizer', optimizer);
  }
  const sd = optimizer.stateDict();
  const tensors: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number | null>> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    scalars[i] = {};
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof Tensor) tensors[`state.${i}.${k}`] = v;
      else scalars[i][k] = v as number | null;
    }
  }
  const info = JSON.stringify({ type: optimizer.constructor.name, paramGroups: sd.paramGroups, scalars });
  saveSafetensors(file, tensors, { ...(metadata ?? {}), [OPT_KEY]: info });
}

/** Restores an optimizer saved by saveOptimizer into one over parameters of the same shapes. */
export function loadOptimizer(optimizer: OptimizerState, file: string): void {
  if (optimizer === null || typeof optimizer !== 'object' || typeof (optimizer as OptimizerState).loadStateDict !== 'function') {
    throw invalidParameterError('optimizer', 'an Optimizer', optimizer);
  }
  const header = readSafetensorsHeader(file);
  const raw = header.metadata?.[OPT_KEY];
  if (raw === undefined) throw safetensorsError(file, `no '${OPT_KEY}' metadata: not saved by saveOptimizer()`);
  let info: { type: string; paramGroups: OptimizerStateDict['paramGroups']; scalars: Record<string, Record<string, number | null>> };
  try {
    info = JSON.parse(raw);
  } catch (e) {
    throw safetensorsError(file, `the '${OPT_KEY}' metadata is not valid JSON (${(e as Error).message})`);
  }
  const want = optimizer.constructor.name;
  if (info.type !== want) {
    throw invalidArgument(`${file} holds the state of a ${info.type} optimizer, not of a ${want}`, {
      parameter: 'file', expected: `the state of a ${want} optimizer`, received: `the state of a ${info.type} optimizer`,
    });
  }
  const tensors = loadSafetensors(file);
  try {
    const state: Record<number, ParamState> = {};
    for (const [i, sc] of Object.entries(info.scalars)) state[Number(i)] = { ...sc } as ParamState;
    for (const [k, t] of Object.entries(tensors)) {
      const m = /^state\.(\d+)\.(.+)$/.exec(k);
      if (!m) throw safetensorsError(file, `unexpected tensor '${k}' in an optimizer file`);
      (state[Number(m[1])] ??= { step: 0 } as ParamState)[m[2]] = t;
    }
    optimizer.loadStateDict({ state, paramGroups: info.paramGroups }, file);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
