import { existsSync, readFileSync } from 'node:fs';

export interface ScanSource {
  /** Where the text came from (a log file, a topic record, a metrics page, a trace export). */
  where: string;
  text: string;
}

export interface Leak {
  /** The secret's label (never its value). */
  secret: string;
  where: string;
}

/** The forms a value may take once written somewhere: as is, JSON-escaped, URL-encoded, base64. */
function forms(value: string): string[] {
  return [
    ...new Set([
      value,
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      Buffer.from(value).toString('base64'),
    ]),
  ];
}

/**
 * Every place a secret value appears. Labels only: a finding never repeats the value. Values shorter
 * than 12 characters are refused (they would match by chance).
 */
export function findLeaks(secrets: Record<string, string>, sources: ScanSource[]): Leak[] {
  const leaks: Leak[] = [];
  for (const [label, value] of Object.entries(secrets)) {
    if (value.length < 12) throw new Error(`secret ${label} is too short to scan for`);
    const needles = forms(value);
    for (const s of sources) if (needles.some((n) => s.text.includes(n))) leaks.push({ secret: label, where: s.where });
  }
  return leaks;
}

export function fileSources(paths: string[]): ScanSource[] {
  return paths.filter((p) => existsSync(p)).map((p) => ({ where: p, text: readFileSync(p, 'utf8') }));
}
