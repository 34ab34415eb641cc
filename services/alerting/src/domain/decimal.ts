/** Exact decimal helpers on strings (money comparisons never go through floating point). */
export const DECIMAL = /^[+-]?(\d+)(\.(\d+))?$/;

export function isDecimalString(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 64 && DECIMAL.test(s.trim());
}

/** The decimal form of a finite number, or undefined when it would need an exponent. */
export function numberToDecimal(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  const s = String(n);
  return DECIMAL.test(s) ? s : undefined;
}

function scaled(s: string, scale: number): bigint {
  const m = DECIMAL.exec(s.trim());
  if (!m) throw new Error(`not a decimal: ${s}`);
  const sign = s.trim().startsWith('-') ? -1n : 1n;
  const frac = (m[3] ?? '').padEnd(scale, '0');
  return sign * BigInt(`${m[1]}${frac}`);
}

/** Compares two decimal strings exactly: -1, 0 or 1. */
export function compareDecimal(a: string, b: string): number {
  const fa = DECIMAL.exec(a.trim())?.[3]?.length ?? 0;
  const fb = DECIMAL.exec(b.trim())?.[3]?.length ?? 0;
  const scale = Math.max(fa, fb);
  const x = scaled(a, scale);
  const y = scaled(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A decimal string rounded to `digits` places (half away from zero), exactly: "100.005" -> "100.01". */
export function roundDecimal(s: string, digits: number): string {
  const t = s.trim();
  const m = DECIMAL.exec(t);
  if (!m) throw new Error(`not a decimal: ${s}`);
  const negative = t.startsWith('-');
  const frac = m[3] ?? '';
  let units = BigInt(`${m[1]}${frac.slice(0, digits).padEnd(digits, '0')}`);
  if ((frac[digits] ?? '0') >= '5') units += 1n;
  const str = units.toString().padStart(digits + 1, '0');
  const whole = str.slice(0, str.length - digits);
  const body = digits > 0 ? `${whole}.${str.slice(str.length - digits)}` : whole;
  return negative && units !== 0n ? `-${body}` : body;
}
