export type KnowledgeContentType = 'text/plain' | 'text/markdown';

export interface ChunkOptions {
  contentType: KnowledgeContentType;
  /** Target maximum characters per chunk. */
  chunkSize: number;
  /** Characters of the previous chunk repeated at the start of the next one (same section only). */
  overlap: number;
}

export interface TextChunk {
  index: number;
  content: string;
  /** The Markdown headings the chunk sits under, outermost first (empty for plain text). */
  headings: string[];
}

interface Section {
  headings: string[];
  paragraphs: string[];
}

const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const HAS_WORDS = /[\p{L}\p{N}]/u;

/** Markdown: sections by ATX heading, paragraphs by blank line; a fenced code block stays one paragraph. */
function markdownSections(text: string): Section[] {
  const sections: Section[] = [];
  const stack: { level: number; title: string }[] = [];
  let current: Section = { headings: [], paragraphs: [] };
  let paragraph: string[] = [];
  let fence: string | undefined;
  const endParagraph = () => {
    if (paragraph.length > 0) current.paragraphs.push(paragraph.join('\n'));
    paragraph = [];
  };
  for (const line of text.split('\n')) {
    const fenceMatch = FENCE.exec(line);
    if (fence !== undefined) {
      paragraph.push(line);
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length) {
        fence = undefined;
        endParagraph();
      }
      continue;
    }
    if (fenceMatch) {
      endParagraph();
      fence = fenceMatch[1];
      paragraph.push(line);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      endParagraph();
      sections.push(current);
      const level = heading[1].length;
      while (stack.length > 0 && stack[stack.length - 1].level >= level) stack.pop();
      stack.push({ level, title: heading[2].trim() });
      current = { headings: stack.map((h) => h.title).filter((t) => t.length > 0), paragraphs: [] };
      continue;
    }
    if (line.trim() === '') endParagraph();
    else paragraph.push(line);
  }
  endParagraph();
  sections.push(current);
  return sections.filter((s) => s.paragraphs.length > 0);
}

function plainSections(text: string): Section[] {
  const paragraphs = text
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  return [{ headings: [], paragraphs }];
}

/** Splits text longer than `max` at word boundaries (a single longer word is cut). */
function splitWords(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    let cut = rest.lastIndexOf(' ', max);
    if (cut <= max / 2) cut = max;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) out.push(rest);
  return out;
}

/** A paragraph no longer than `max`, else its sentences (or lines, for code), each no longer than `max`. */
function units(paragraph: string, max: number): string[] {
  if (paragraph.length <= max) return [paragraph];
  const isCode = FENCE.test(paragraph);
  const parts = isCode ? paragraph.split('\n') : paragraph.split(/(?<=[.!?])\s+/);
  const out: string[] = [];
  let current = '';
  const sep = isCode ? '\n' : ' ';
  for (const part of parts) {
    if (part.length > max) {
      if (current) out.push(current);
      current = '';
      out.push(...splitWords(part, max));
      continue;
    }
    if (current && current.length + sep.length + part.length > max) {
      out.push(current);
      current = part;
    } else current = current ? `${current}${sep}${part}` : part;
  }
  if (current) out.push(current);
  return out;
}

/** The tail of a chunk to repeat: whole trailing units that fit in `overlap`, else the end of the last unit from a word start. */
function overlapTail(previous: string[], overlap: number): string[] {
  if (overlap <= 0 || previous.length === 0) return [];
  const tail: string[] = [];
  let length = 0;
  for (let i = previous.length - 1; i >= 0; i--) {
    const add = previous[i].length + (tail.length > 0 ? 2 : 0);
    if (length + add > overlap) break;
    tail.unshift(previous[i]);
    length += add;
  }
  if (tail.length > 0) return tail;
  const last = previous[previous.length - 1];
  let slice = last.slice(last.length - overlap);
  const space = slice.search(/\s/);
  if (space >= 0 && space < slice.length - 1) slice = slice.slice(space + 1);
  return slice.trim() ? [slice.trim()] : [];
}

/**
 * Splits a document into chunks of at most `chunkSize` characters that break at headings and
 * paragraphs (sentences, then words, only inside a paragraph too long for one chunk). A chunk
 * never spans two Markdown sections; consecutive chunks of one section share up to `overlap`
 * characters (whole paragraphs or sentences when they fit). Chunks without letters or digits are dropped.
 */
export function chunkText(text: string, options: ChunkOptions): TextChunk[] {
  const { chunkSize, overlap } = options;
  if (chunkSize < 50) throw new Error('chunkSize must be at least 50 characters');
  if (overlap < 0 || overlap * 2 > chunkSize) throw new Error('overlap must be between 0 and half the chunk size');
  const normalized = text.replace(/\r\n?/g, '\n');
  const sections = options.contentType === 'text/markdown' ? markdownSections(normalized) : plainSections(normalized);
  const chunks: TextChunk[] = [];
  const emit = (parts: string[], headings: string[]) => {
    const content = parts.join('\n\n').trim();
    if (content && HAS_WORDS.test(content)) chunks.push({ index: chunks.length, content, headings });
  };
  for (const section of sections) {
    let parts: string[] = [];
    let length = 0;
    let fresh = 0; // parts added since the overlap was carried over
    for (const unit of section.paragraphs.flatMap((p) => units(p.trim(), chunkSize))) {
      if (!unit) continue;
      if (parts.length > 0 && length + 2 + unit.length > chunkSize) {
        emit(parts, section.headings);
        parts = overlapTail(parts, overlap);
        length = parts.reduce((n, p, i) => n + p.length + (i > 0 ? 2 : 0), 0);
        while (parts.length > 0 && length + 2 + unit.length > chunkSize) {
          length -= parts[0].length + (parts.length > 1 ? 2 : 0);
          parts.shift();
        }
        fresh = 0;
      }
      parts.push(unit);
      fresh++;
      length += unit.length + (parts.length > 1 ? 2 : 0);
    }
    if (fresh > 0) emit(parts, section.headings);
  }
  return chunks;
}
