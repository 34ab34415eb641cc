/**
 * Exact USD amounts. The database does the arithmetic in NUMERIC; in TypeScript an amount is a
 * decimal string, or a bigint of pico-dollars (10^-12 USD, the precision of a token count times a
 * per-million-token price with 6 decimals) when it must be added up. Never a float.
 */
export const PICO_DIGITS = 12;
const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** A decimal string (or a JS number written in plain decimal notation) as pico-dollars. Throws on anything else. */
export function toPico(amount: string | number): bigint {
  const text = typeof amount === 'number' ? numberToDecimal(amount) : amount.trim();
  const m = DECIMAL.exec(text);
  if (!m) throw new RangeError(`not a decimal amount: ${JSON.stringify(amount)}`);
  const frac = m[3] ?? '';
  if (frac.length > PICO_DIGITS && /[1-9]/.test(frac.slice(PICO_DIGITS)))
    throw new RangeError(`more than ${PICO_DIGITS} decimals: ${text}`);
  // One BigInt parse of the digits (the hot path prices thousands of records a second).
  return BigInt(`${m[1] ?? ''}${m[2]}${frac.slice(0, PICO_DIGITS).padEnd(PICO_DIGITS, '0')}`);
}

/** Pico-dollars as a decimal string with at least `minDecimals` decimals and no trailing zeros beyond them. */
export function fromPico(units: bigint, minDecimals = 2): string {
  const negative = units < 0n;
  // String operations on the digits, no BigInt division (the hot path formats three amounts per record).
  let digits = (negative ? -units : units).toString();
  if (digits.length <= PICO_DIGITS) digits = digits.padStart(PICO_DIGITS + 1, '0');
  const point = digits.length - PICO_DIGITS;
  let end = digits.length;
  const keep = point + Math.min(minDecimals, PICO_DIGITS);
  while (end > keep && digits.charCodeAt(end - 1) === 48) end--;
  let frac = digits.slice(point, end);
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, '0');
  return `${negative ? '-' : ''}${digits.slice(0, point)}${frac ? `.${frac}` : ''}`;
}

/** A NUMERIC value from the database (a decimal string) in canonical form: "4.2" -> "4.20", "0.012500000000" -> "0.0125". */
export function usd(value: string | null | undefined, minDecimals = 2): string | null {
  if (value === null || value === undefined) return null;
  return fromPico(toPico(value), minDecimals);
}

export function sumUsd(values: Iterable<string>): string {
  let total = 0n;
  for (const v of values) total += toPico(v);
  return fromPico(total);
}

/** Whether `value` is a non-negative amount with at most `maxDecimals` decimals (input validation). */
export function isUsdAmount(value: unknown, maxDecimals = 6): boolean {
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  let text: string;
  try {
    text = typeof value === 'number' ? numberToDecimal(value) : value.trim();
  } catch {
    return false;
  }
  const m = DECIMAL.exec(text);
  if (!m || m[1]) return false;
  if (m[2].length > 12) return false;
  return (m[3] ?? '').length <= maxDecimals;
}

/** A JSON number as the decimal it was written as (JS prints the shortest round-tripping form). */
function numberToDecimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite amount: ${n}`);
  const s = String(n);
  if (/e/i.test(s)) throw new RangeError(`amount out of range: ${s}`);
  return s;
}

/** Canonical decimal string of a validated input amount ("50" -> "50.00"). */
export function normalizeUsd(value: string | number): string {
  return fromPico(toPico(value));
}
