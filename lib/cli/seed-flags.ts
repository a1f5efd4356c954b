// The seeds' spellings that are more than another name for a flag (those are `aliases` in the
// flag tables of ./train-run.ts and ./generate.ts): nnabla's -c CONTEXT / -d N (seed 001),
// seed 002's --backend and --generator with --dset toy, Keras 1's --bn_mode 0|1|2.
import { ParsedFlags, flagSpelling, givenFlags, setGivenFlag, usageError } from './args';

/** --generator / --up value names of the seeds: nnabla's --up (001) and seed 002's --generator upsampling. */
export const GENERATOR_VALUE_ALIASES = Object.freeze({ linear: 'bilinear', unpooling: 'unpool', upsampling: 'nearest' });

/** Keras 1's BatchNormalization modes (seed 002's --bn_mode): refused, saying what to use instead. */
const KERAS_BN = "Keras 1's BatchNormalization mode (seed 002), not a torch-gan value; torch-gan's --bn-mode names the normalisation: instance (default), batch, layer or none (batch norm as in seed 002: --bn-mode batch, refused with a gradient penalty)";
export const KERAS_BN_MODES = Object.freeze({ 0: KERAS_BN, 1: KERAS_BN, 2: KERAS_BN });

/**
 * Resolves -c/--context and a bare device number into --device (nnabla: `-c cudnn -d 0` is
 * cuda:0; `-d 1` alone is cuda:1, its default context being cudnn), refusing contradictions.
 */
export function resolveDeviceFlags(f: ParsedFlags, note: (m: string) => void = () => {}): void {
  const given = givenFlags(f);
  const ctx = given.has('context') ? (f.context as string) : undefined;
  let device = f.device as string;
  const deviceGiven = given.has('device');
  const number = /^\d+$/.test(device) ? Number(device) : undefined;
  if (number !== undefined) device = `cuda:${number}`;
  if (ctx !== undefined) {
    const dev = flagSpelling(f, 'device');
    if (ctx === 'cpu') {
      if (deviceGiven && device !== 'cpu') {
        throw usageError(`${flagSpelling(f, 'context')} cpu contradicts ${dev} ${f.device as string} (${device}); give one of them`, { parameter: dev, expected: 'cpu (as the context says) or nothing', received: String(f.device) });
      }
      device = 'cpu';
    } else {
      if (deviceGiven && device === 'cpu') {
        throw usageError(`${flagSpelling(f, 'context')} ${ctx} contradicts ${dev} cpu; give one of them`, { parameter: dev, expected: `a CUDA device (as the context ${ctx} says) or nothing`, received: 'cpu' });
      }
      if (!deviceGiven) device = 'cuda:0';
    }
  }
  if (device !== f.device || (ctx !== undefined && !deviceGiven)) {
    const spelled = [ctx !== undefined ? `${flagSpelling(f, 'context')} ${ctx}` : '', deviceGiven ? `${flagSpelling(f, 'device')} ${f.device as string}` : ''].filter(Boolean).join(' ');
    note(`note: ${spelled} is --device ${device}`);
    setGivenFlag(f, 'device', device, '--device');
  }
}

/**
 * Applies the seed spellings to parsed train flags, printing a note for what is accepted and
 * ignored: --backend (torch-gan needs none), --generator with --dset toy (the toy networks are MLPs).
 */
export function applySeedFlags(f: ParsedFlags, note: (m: string) => void): void {
  const given = givenFlags(f);
  if (given.has('backend')) note(`note: --backend ${f.backend as string} ignored: torch-gan runs on libtorch, there is no backend to choose`);
  if (f.dataset === 'toy' && given.has('upsampling')) {
    note(`note: ${flagSpelling(f, 'upsampling')} ${f.upsampling as string} ignored with ${flagSpelling(f, 'dataset')} toy: the toy generator is an MLP (no upsampling), as seed 002's toy model`);
  }
  resolveDeviceFlags(f, note);
}
