/**
 * Secret paths: `/`-separated segments of letters, digits, `_`, `-` and `.` (never `.` or `..` alone),
 * at most 512 characters, e.g. `ai/platforms/openai`, `channels/slack/ops`. Paths are not secret:
 * they appear in audit records, events and logs.
 */
export const SECRET_PATH_PATTERN = /^(?!.*(^|\/)\.{1,2}(\/|$))[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
export const SECRET_PATH_MESSAGE =
  'path must be segments of letters, digits, _ - . separated by / (no leading or trailing /, no . or .. segments)';
export const MAX_PATH_LENGTH = 512;

export function isValidSecretPath(path: string): boolean {
  return path.length > 0 && path.length <= MAX_PATH_LENGTH && SECRET_PATH_PATTERN.test(path);
}

/** A folder to list: a path followed by `/`, or empty for the root. */
export function isValidSecretFolder(prefix: string): boolean {
  if (prefix === '') return true;
  return prefix.endsWith('/') && isValidSecretPath(prefix.slice(0, -1));
}

/** The platform's provider keys live here (contracts.md). */
export function platformKeyPath(platform: string): string {
  return `ai/platforms/${platform}`;
}

export const PLATFORM_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
