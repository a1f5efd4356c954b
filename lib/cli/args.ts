// A small declarative flag parser: every flag has a type, a default and help
// text; a bad flag is a clear message and exit code 2, before any work starts.

export type FlagType = 'int' | 'number' | 'string' | 'bool' | 'choice';
export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: number | string | boolean;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** a flag that must be given (no default) */
  required?: boolean;
}
export type FlagSpecs = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, number | string | boolean | undefined>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function convert(name: string, spec: FlagSpec, raw: string): number | string | boolean {
  switch (spec.type) {
    case 'int': {
      const v = Number(raw);
      if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(v)) throw new UsageError(`--${name} expects an integer, received '${raw}'`);
      checkRange(name, spec, v);
      return v;
    }
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} expects a number, received '${raw}'`);
      checkRange(name, spec, v);
      return v;
    }
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new UsageError(`--${name} expects true or false, received '${raw}'`);
    case 'choice':
      if (!spec.choices!.includes(raw)) throw new UsageError(`--${name} expects one of ${spec.choices!.join(', ')}, received '${raw}'`);
      return raw;
    default:
      return raw;
  }
}

function checkRange(name: string, spec: FlagSpec, v: number): void {
  if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, received ${v}`);
  if (spec.max !== undefined && v > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}, received ${v}`);
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

/** Parses argv (without node and script). Flags: --name value, --name=value, --bool-flag. */
export function parseFlags(argv: string[], specs: FlagSpecs): ParsedFlags & { help?: boolean } {
  const out: ParsedFlags & { help?: boolean } = {};
  const seen = new Set<string>();
  given.set(out, seen);
  for (const [name, spec] of Object.entries(specs)) out[camel(name)] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}' (flags start with --; see --help)`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    name = name.replace(/_/g, '-'); // accept seed 002's --lr_D style too
    const spec = specs[name] ?? specs[name.toLowerCase()];
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (value === undefined) {
      if (spec.type === 'bool' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) value = 'true';
      else if (argv[i + 1] === undefined) throw new UsageError(`--${name} needs a value`);
      else value = argv[++i];
    }
    const key = camel(specs[name] ? name : name.toLowerCase());
    out[key] = convert(name, spec, value);
    seen.add(key);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && out[camel(name)] === undefined && !out.help) throw new UsageError(`--${name} is required`);
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
    const def = spec.default === undefined ? '' : ` (default: ${spec.default})`;
    entry(`--${name}${kind ? ' ' + kind : ''}`, spec.help + def);
  }
  entry('--help', 'show this help');
  return lines.join('\n');
}

/** Runs main with parsed flags; usage errors print a message and exit 2. */
export function runCli(title: string, specs: FlagSpecs, main: (flags: ParsedFlags) => Promise<void> | void, argv: string[] = process.argv.slice(2)): void {
  let flags: ParsedFlags & { help?: boolean };
  try {
    flags = parseFlags(argv, specs);
  } catch (e) {
    if (e instanceof UsageError) {
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
      if (e instanceof UsageError) {
        console.error(`error: ${e.message}`);
        process.exit(2);
      }
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    });
}
