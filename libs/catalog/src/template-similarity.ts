import { parseTemplate } from './template-parser';

/** The template's words: literal text only (placeholders stripped), lower-case, whitespace-free. */
export function templateTokens(template: string): Set<string> {
  const text = parseTemplate(template)
    .parts.map((part) => (part.kind === 'text' ? part.text : ' '))
    .join('')
    .toLowerCase();
  return new Set(text.match(/[\p{L}\p{N}_]+/gu) ?? []);
}

/** |A ∩ B| / |A ∪ B|; two empty sets are identical (1). */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let shared = 0;
  for (const token of small) if (large.has(token)) shared += 1;
  return shared / (a.size + b.size - shared);
}

export interface NearDuplicate<T> {
  a: T;
  b: T;
  similarity: number;
}

/** Every pair whose templates' token-level Jaccard similarity is at least `threshold`. */
export function findNearDuplicates<T>(
  items: readonly T[],
  templateOf: (item: T) => string,
  threshold: number,
): NearDuplicate<T>[] {
  const tokens = items.map((item) => templateTokens(templateOf(item)));
  const pairs: NearDuplicate<T>[] = [];
  for (let i = 0; i < items.length; i += 1) {
    for (let j = i + 1; j < items.length; j += 1) {
      const a = tokens[i];
      const b = tokens[j];
      // Jaccard <= min/max, so pairs whose sizes differ too much cannot reach the threshold.
      if (Math.min(a.size, b.size) < threshold * Math.max(a.size, b.size)) continue;
      const similarity = jaccard(a, b);
      if (similarity >= threshold) pairs.push({ a: items[i], b: items[j], similarity });
    }
  }
  return pairs;
}
