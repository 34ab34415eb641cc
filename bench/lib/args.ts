/**
 * Parses `--name value`, `--name=value`, bare `--flag` and `--flag true|false` arguments against typed defaults.
 * Unknown flags and malformed numbers are errors (a benchmark must not silently run with a typo).
 */
export function parseArgs<T extends Record<string, number | string | boolean>>(
  argv: string[],
  defaults: T,
  usage: string,
): T {
  const out: Record<string, number | string | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}\n${usage}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!(name in defaults)) throw new Error(`unknown option --${name}\n${usage}`);
    const kind = typeof defaults[name];
    if (kind === 'boolean' && eq < 0 && argv[i + 1] !== 'true' && argv[i + 1] !== 'false') {
      out[name] = true; // a bare flag; `--flag false`, `--flag=false` set it explicitly
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new Error(`--${name} needs a value\n${usage}`);
    if (kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${raw}`);
      out[name] = n;
    } else if (kind === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new Error(`--${name} must be true or false, got ${raw}`);
      out[name] = raw === 'true';
    } else {
      out[name] = raw;
    }
  }
  return out as T;
}
