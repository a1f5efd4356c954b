// Python's reprs of the values a module prints in toString(), so a torch-gan module prints as
// PyTorch's does (Conv2d(1, 64, kernel_size=(4, 4), ...)).

/** Indents every line but the first by n spaces (a child module's repr inside its parent's). */
export function addIndent(s: string, n: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const pad = ' '.repeat(n);
  return [lines[0], ...lines.slice(1).map((l) => pad + l)].join('\n');
}

/** Python's repr of a float (1e-05, 0.1, 2.0), for toString(). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // shortest round-trip digits, as Python's repr; exponent form below 1e-4 and from 1e16
  const [mant, e] = x.toExponential().split('e');
  const e10 = Number(e);
  if (e10 < -4 || e10 >= 16) return `${mant}e${e10 < 0 ? '-' : '+'}${String(Math.abs(e10)).padStart(2, '0')}`;
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** Python's repr of a tuple of ints: (4, 4) or (3,). */
export function pyTuple(v: readonly number[]): string {
  return v.length === 1 ? `(${v[0]},)` : `(${v.join(', ')})`;
}

/** Python's bool repr. */
export const pyBool = (b: boolean): string => (b ? 'True' : 'False');
