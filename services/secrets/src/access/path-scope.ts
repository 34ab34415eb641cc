/**
 * A path scope, in Vault policy glob syntax: a literal path, `+` standing for exactly one segment, and
 * an optional `*` at the very end matching any rest (including further segments).
 * `ai/platforms/*` grants `ai/platforms/openai`; `channels/+/token` grants `channels/slack/token`.
 */
export class PathScope {
  private readonly regex: RegExp;
  /** The literal part before a trailing `*` (for folder listings), undefined without one. */
  private readonly globPrefix?: string;

  constructor(readonly pattern: string) {
    if (!PathScope.isValid(pattern)) throw new Error(`invalid path scope "${pattern}"`);
    const glob = pattern.endsWith('*');
    const body = glob ? pattern.slice(0, -1) : pattern;
    const source = body
      .split('/')
      .map((seg) => (seg === '+' ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    this.regex = new RegExp(`^${source}${glob ? '.*' : ''}$`);
    if (glob && !body.includes('+')) this.globPrefix = body;
  }

  static isValid(pattern: string): boolean {
    if (!pattern || pattern.length > 512) return false;
    const glob = pattern.endsWith('*');
    const body = glob ? pattern.slice(0, -1) : pattern;
    if (body.includes('*')) return false;
    if (body === '') return glob; // `*`: everything
    const segments = body.split('/');
    return segments.every((seg, i) => {
      if (seg === '+') return true;
      if (seg === '') return glob && i === segments.length - 1; // `folder/*`
      return /^[A-Za-z0-9_.-]+$/.test(seg) && seg !== '.' && seg !== '..';
    });
  }

  matches(path: string): boolean {
    return this.regex.test(path);
  }

  /** Whether everything under `folder` (ending in `/`, or '' for the root) is in scope. */
  coversFolder(folder: string): boolean {
    return this.globPrefix !== undefined && folder.startsWith(this.globPrefix);
  }
}

/** Parses a comma-separated list of patterns. */
export function parseScopeList(list: string): PathScope[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => new PathScope(s));
}
