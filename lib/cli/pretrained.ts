// The pretrained generators shipped in the package (models/pretrained/NAME: generator.safetensors,
// state.json with the run's config, metrics.json with its evaluation and the command that trained
// it; made by scripts/results/export-pretrained.ts), for `generate --pretrained NAME` and
// `evaluate --pretrained NAME`: each folder is a checkpoint folder holding only the generator.
import * as fs from 'fs';
import * as path from 'path';
import { ParsedFlags, flagSpelling, givenFlags, usageError } from './args';

/** models/pretrained in the installed package (dist/cli -> the package root; lib/cli from source). */
export const PRETRAINED_DIR = path.resolve(__dirname, '..', '..', 'models', 'pretrained');

/** The names shipped (folders with a generator and a state.json). */
export function pretrainedNames(): string[] {
  if (!fs.existsSync(PRETRAINED_DIR)) return [];
  return fs.readdirSync(PRETRAINED_DIR).filter((n) => fs.existsSync(path.join(PRETRAINED_DIR, n, 'state.json')) && fs.existsSync(path.join(PRETRAINED_DIR, n, 'generator.safetensors'))).sort();
}

/** The checkpoint folder of pretrained model `name`; an unknown name is a usage error listing the shipped ones. */
export function pretrainedCheckpoint(name: string, flag = '--pretrained'): string {
  const names = pretrainedNames();
  if (!names.includes(name)) {
    throw usageError(`${flag} ${name}: no such pretrained generator; this package ships ${names.length ? names.join(', ') : 'none'} (in ${PRETRAINED_DIR})`);
  }
  return path.join(PRETRAINED_DIR, name);
}

/** The checkpoint a command was given: --checkpoint DIR or --pretrained NAME, exactly one (required unless `optional`). */
export function checkpointArgument(f: ParsedFlags, optional = false, alternative = ''): string | undefined {
  const given = givenFlags(f);
  const ck = given.has('checkpoint') ? flagSpelling(f, 'checkpoint') : null;
  if (ck && given.has('pretrained')) throw usageError(`${ck} and --pretrained name two generators: pass one of them`);
  if (given.has('pretrained')) return pretrainedCheckpoint(f.pretrained as string);
  if (f.checkpoint !== undefined) return f.checkpoint as string;
  if (optional) return undefined;
  const names = pretrainedNames();
  throw usageError(`--checkpoint DIR (a run's checkpoints folder) or --pretrained NAME (${names.length ? `shipped: ${names.join(', ')}` : 'none shipped'}) is required${alternative}`);
}
