import type { OutputSchema } from './catalog.types';

/** Heading text as compared with section titles: trimmed, lower-case, no emphasis or trailing colon. */
export function normalizeHeading(text: string): string {
  return text
    .replace(/\s+#+\s*$/, '')
    .trim()
    .replace(/:\s*$/, '')
    .replace(/^(\*\*|__)(.*)\1$/, '$2')
    .replace(/:\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const LEVEL2 = /^ {0,3}##(?:[ \t]+(.*))?$/;

/**
 * Splits a Markdown answer into the output schema's sections. A section starts at a `## <title>`
 * heading whose text matches a section title (case-insensitive, trimmed) and runs to the next
 * level-2 heading; headings inside fenced code blocks do not count. Text under headings that match
 * no section is dropped. Returns only the sections present, keyed by output_schema property; a
 * section repeated in the answer is joined with a blank line.
 */
export function parseSections(markdown: string, outputSchema: OutputSchema): Record<string, string> {
  const byTitle = new Map<string, string>();
  for (const [key, section] of Object.entries(outputSchema.properties)) {
    byTitle.set(normalizeHeading(section.title), key);
  }
  const collected = new Map<string, string[][]>();
  let current: string[] | undefined;
  let fence: string | undefined;
  for (const line of markdown.split(/\r?\n/)) {
    const fenceMatch = FENCE.exec(line);
    if (fence) {
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length) fence = undefined;
      current?.push(line);
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      current?.push(line);
      continue;
    }
    const heading = LEVEL2.exec(line);
    if (heading) {
      const key = byTitle.get(normalizeHeading(heading[1] ?? ''));
      if (key === undefined) {
        current = undefined;
      } else {
        current = [];
        const chunks = collected.get(key) ?? [];
        chunks.push(current);
        collected.set(key, chunks);
      }
      continue;
    }
    current?.push(line);
  }
  const result: Record<string, string> = {};
  for (const key of Object.keys(outputSchema.properties)) {
    const chunks = collected.get(key);
    if (chunks) result[key] = chunks.map((c) => c.join('\n').trim()).join('\n\n');
  }
  return result;
}
