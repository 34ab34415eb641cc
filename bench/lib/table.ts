export type Cell = string | number | null | undefined;

export interface Column {
  header: string;
  /** Numbers are right-aligned by default, text left-aligned. */
  align?: 'left' | 'right';
}

function show(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '-';
    return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }
  return v;
}

/** Renders rows as a fixed-width text table (what benchmarks print to the console). */
export function formatTable(columns: (Column | string)[], rows: Cell[][]): string {
  const cols: Column[] = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const text = rows.map((r) => cols.map((_, i) => show(r[i])));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...text.map((r) => r[i].length)));
  const alignOf = (i: number) => cols[i].align ?? (rows.some((r) => typeof r[i] === 'number') ? 'right' : 'left');
  const pad = (s: string, i: number) => (alignOf(i) === 'right' ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (alignOf(i) === 'right' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(cols.map((c) => c.header)), rule, ...text.map(line)].join('\n');
}

export function printTable(columns: (Column | string)[], rows: Cell[][]): void {
  console.log(formatTable(columns, rows));
}
