// The --truncation flag of generate and evaluate: the truncation trick's threshold ψ, checked
// against the run it samples (truncation is defined for normal noise only).
import { usageError } from './args';

/** psi itself when it may truncate this run's noise; a usage error naming the flag otherwise. */
export function checkTruncation(psi: number | undefined, flag: string, noiseKind: string, run: string): number | undefined {
  if (psi === undefined) return undefined;
  if (!(psi > 0)) throw usageError(`${flag} expects a positive number (the truncation threshold), received ${psi}`, { parameter: flag, expected: 'a positive number', received: String(psi) });
  if (noiseKind !== 'normal') {
    throw usageError(`${flag} truncates normal noise; ${run} was trained with --noise-kind ${noiseKind}: drop ${flag}`, { parameter: flag, expected: 'a checkpoint trained with normal noise', received: `noise kind ${noiseKind}` });
  }
  return psi;
}
