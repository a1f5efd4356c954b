// A small declarative flag parser: every flag has a type, a default and help
// text; a bad flag is a clear message and exit code 2, before any work starts.
import { TorchError } from '../errors';
import type { InputFields } from '../errors';

export type FlagType = 'int' | 'number' | 'string' | 'bool' | 'choice';
export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: number | string | boolean;
  /** a default that --help shows but the parser does not fill in (the library applies it, and tells a given value from a default) */
  shownDefault?: number | string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** a flag that must be given (no default) */
  required?: boolean;
  /**
   * other spellings of the flag, as the seeds write them: '-b' (one dash, one letter) or
   * '--monitor-path'; listed by --help. (Every flag also takes _ for -: --lr_D is --lr-d.)
   */
  aliases?: readonly string[];
  /** choice flags: other names of values (e.g. nnabla's linear for bilinear); listed by --help */
  valueAliases?: Readonly<Record<string, string>>;
  /** values refused with a message saying what to use instead (e.g. Keras 1's --bn_mode 2) */
  refuse?: Readonly<Record<string, string>>;
}
export type FlagSpecs = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, number | string | boolean | undefined>;

/** A bad command line (ERR_USAGE: runCli prints the message and exits with code 2); the fields name the flag at fault. */
export function usageError(message: string, fields: InputFields = {}): TorchError {
  return new TorchError(message, { code: 'ERR_USAGE', ...fields });
}

/**
 * Whether runCli reports e as a usage error (message, exit code 2): ERR_USAGE, and ERR_RUN_CONFIG,
 * a run configuration that cannot run, which at the command line is a bad combination of flags.
 */
export function isUsageError(e: unknown): e is TorchError {
  return e instanceof TorchError && (e.code === 'ERR_USAGE' || e.code === 'ERR_RUN_CONFIG');
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function convert(name: string, spec: FlagSpec, raw: string): number | string | boolean {
  const refusal = spec.refuse?.[raw] ?? spec.refuse?.[raw.toLowerCase()];
  if (refusal !== undefined) throw usageError(`${name} ${raw}: ${refusal}`, { parameter: name, expected: refusal, received: `'${raw}'` });
  switch (spec.type) {
    case 'int': {
      const v = Number(raw);
      if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(v)) throw badValue(name, 'an integer', raw);
      checkRange(name, spec, v);
      return v;
    }
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw badValue(name, 'a number', raw);
      checkRange(name, spec, v);
      return v;
    }
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw badValue(name, 'true or false', raw);
    case 'choice': {
      // case-insensitive (seed 002's --dset celebA, --opt_D RMSprop), then the value aliases
      const lower = raw.toLowerCase();
      const hit = spec.choices!.find((c) => c.toLowerCase() === lower);
      if (hit !== undefined) return hit;
      const alias = Object.entries(spec.valueAliases ?? {}).find(([a]) => a.toLowerCase() === lower);
      if (alias) return alias[1];
      const also = spec.valueAliases ? ` (or ${Object.keys(spec.valueAliases).join(', ')})` : '';
      throw badValue(name, `one of ${spec.choices!.join(', ')}${also}`, raw);
    }
    default:
      return raw;
  }
}

// "--flag expects X, received 'raw'"
function badValue(name: string, expected: string, raw: string): TorchError {
  return usageError(`${name} expects ${expected}, received '${raw}'`, { parameter: name, expected, received: `'${raw}'` });
}

function checkRange(name: string, spec: FlagSpec, v: number): void {
  const bound = (expected: string) => usageError(`${name} must be ${expected}, received ${v}`, { parameter: name, expected, received: String(v) });
  if (spec.min !== undefined && v < spec.min) throw bound(`at least ${spec.min}`);
  if (spec.max !== undefined && v > spec.max) throw bound(`at most ${spec.max}`);
}

// The flags each parse saw on the command line (camelCase), as opposed to defaults.
const given = new WeakMap<object, Set<string>>();

/** The flags given explicitly on the command line (camelCase keys), not filled in from defaults. */
export function givenFlags(flags: ParsedFlags): ReadonlySet<string> {
  return given.get(flags) ?? new Set(Object.keys(flags).filter((k) => flags[k] !== undefined));
}

/** Only the explicitly given flags of a parse. */
export function explicitFlags(flags: ParsedFlags): ParsedFlags {
  const g = givenFlags(flags);
  const out: ParsedFlags = {};
  for (const k of g) out[k] = flags[k];
  return out;
}

// How each parse's flags were spelled on the command line (camelCase key -> '-b', '--monitor-path', ...).
const spelled = new WeakMap<object, Map<string, string>>();

/** The spelling a flag was given with (e.g. '--model-load-path' for checkpoint), or '--name'. */
export function flagSpelling(flags: ParsedFlags, key: string): string {
  return spelled.get(flags)?.get(key) ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Sets a flag as if given on the command line (for flags derived from others, e.g. -c cudnn -> device). */
export function setGivenFlag(flags: ParsedFlags, key: string, value: number | string | boolean, spelling?: string): void {
  flags[key] = value;
  given.get(flags)?.add(key);
  if (spelling !== undefined) spelled.get(flags)?.set(key, spelling);
}

/** A flag or alias name as the lookup knows it: no leading dashes, _ as -. */
const normal = (s: string): string => s.replace(/^-+/, '').replace(/_/g, '-');

/** Parses argv (without node and script). Flags: --name value, --name=value, --bool-flag, -x value (aliases). */
export function parseFlags(argv: string[], specs: FlagSpecs): ParsedFlags & { help?: boolean } {
  const out: ParsedFlags & { help?: boolean } = {};
  const seen = new Set<string>();
  const how = new Map<string, string>();
  const raws = new Map<string, string>();
  given.set(out, seen);
  spelled.set(out, how);
  const aliases = new Map<string, string>(); // '-b' / 'monitor-path' -> canonical name
  for (const [name, spec] of Object.entries(specs)) {
    out[camel(name)] = spec.default;
    for (const a of spec.aliases ?? []) aliases.set(/^-[A-Za-z]$/.test(a) ? a : normal(a), name);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    let name: string;
    let value: string | undefined;
    let spelling: string;
    if (/^-[A-Za-z]$/.test(arg)) {
      const target = aliases.get(arg);
      if (!target) throw usageError(`unknown flag ${arg} (see --help)`, { parameter: arg, expected: 'a flag of --help', received: arg });
      name = target;
      spelling = arg;
    } else {
      if (!arg.startsWith('--')) throw usageError(`unexpected argument '${arg}' (flags start with --; see --help)`, { parameter: 'argv', expected: 'flags (--name)', received: `'${arg}'` });
      let given: string;
      [given, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const n = normal(given); // accept seed 002's --lr_D style too
      const found = specs[n] ? n : specs[n.toLowerCase()] ? n.toLowerCase() : aliases.get(n) ?? aliases.get(n.toLowerCase());
      if (!found) throw usageError(`unknown flag --${n} (see --help)`, { parameter: `--${n}`, expected: 'a flag of --help', received: `--${n}` });
      name = found;
      spelling = found === n || found === n.toLowerCase() ? `--${found}` : `--${given}`;
    }
    const spec = specs[name];
    const shown = spelling === `--${name}` ? spelling : `${spelling} (--${name})`;
    if (value === undefined) {
      if (spec.type === 'bool' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) value = 'true';
      else if (argv[i + 1] === undefined) throw usageError(`${spelling} needs a value`, { parameter: spelling, expected: 'a value', received: 'nothing' });
      else value = argv[++i];
    }
    const key = camel(name);
    const v = convert(shown, spec, value);
    // the same flag under two spellings with different values is ambiguous: refused
    const before = how.get(key);
    if (seen.has(key) && before !== undefined && before !== spelling && out[key] !== v) {
      throw usageError(`${spelling} ${value} and ${before} ${raws.get(key)} are the same flag (--${name}) with different values; give one`, {
        parameter: `--${name}`, expected: 'one value', received: `${spelling} ${value} and ${before} ${raws.get(key)}`,
      });
    }
    raws.set(key, value);
    out[key] = v;
    seen.add(key);
    how.set(key, spelling);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && out[camel(name)] === undefined && !out.help) throw usageError(`--${name} is required`, { parameter: `--${name}`, expected: 'a value', received: 'nothing' });
  }
  return out;
}

/** Words of text wrapped to lines of at most width characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * --help in two aligned columns that never run together, for an 80-column terminal: a flag
 * whose name and values do not fit the first column gets its description on the next lines.
 */
export function helpText(title: string, specs: FlagSpecs, columns = 80): string {
  const NAME = 30;
  const text = columns - NAME - 2;
  const lines = [...title.split('\n').flatMap((l) => (l ? wrap(l, columns) : [''])), '', 'Options:'];
  const entry = (flag: string, help: string) => {
    const body = wrap(help, text);
    const head = `  ${flag}`;
    if (head.length <= NAME) {
      lines.push(`${head.padEnd(NAME)}  ${body[0] ?? ''}`.trimEnd());
      for (const l of body.slice(1)) lines.push(`${''.padEnd(NAME)}  ${l}`);
    } else {
      lines.push(head);
      for (const l of body) lines.push(`${''.padEnd(NAME)}  ${l}`);
    }
  };
  for (const [name, spec] of Object.entries(specs)) {
    const kind = spec.type === 'choice' ? spec.choices!.join('|') : spec.type === 'bool' ? '' : spec.type === 'int' ? 'N' : spec.type === 'number' ? 'X' : 'VALUE';
    const shown = spec.default ?? spec.shownDefault;
    const def = shown === undefined ? '' : ` (default: ${shown})`;
    const also = spec.aliases?.length ? `; also ${spec.aliases.join(', ')}` : '';
    const values = spec.valueAliases ? `; values also ${Object.entries(spec.valueAliases).map(([a, v]) => `${a} (= ${v})`).join(', ')}` : '';
    entry(`--${name}${kind ? ' ' + kind : ''}`, spec.help + def + also + values);
  }
  entry('--help', 'show this help');
  lines.push('', ...wrap('Every flag may be spelled with _ for - (--lr_D is --lr-d) and choice values in any case (--dset celebA is celeba).', columns));
  return lines.join('\n');
}

/** Runs main with parsed flags; usage errors print a message and exit 2. */
export function runCli(title: string, specs: FlagSpecs, main: (flags: ParsedFlags) => Promise<void> | void, argv: string[] = process.argv.slice(2)): void {
  let flags: ParsedFlags & { help?: boolean };
  try {
    flags = parseFlags(argv, specs);
  } catch (e) {
    if (isUsageError(e)) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  if (flags.help) {
    console.log(helpText(title, specs));
    return;
  }
  Promise.resolve()
    .then(() => main(flags))
    .catch((e) => {
      if (isUsageError(e)) {
        console.error(`error: ${e.message}`);
        process.exit(2);
      }
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    });
}
