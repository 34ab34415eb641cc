import { Inject, Injectable } from '@nestjs/common';
import { ApiError } from '@hishamos/platform';
import type { IdentitySettings } from '../../config/identity.settings';
import { IDENTITY_SETTINGS } from '../identity-settings.provider';

const WINDOW_MS = 15 * 60_000;
const MAX_TRACKED = 100_000;

/**
 * Failed sign-ins per email and per IP address within 15 minutes (in memory, per replica): past
 * LOGIN_MAX_FAILURES, sign-in answers 429 until the window passes.
 */
@Injectable()
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(@Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings) {}

  check(keys: string[], now = Date.now()): void {
    for (const key of keys) {
      const f = this.failures.get(key);
      if (!f) continue;
      if (now - f.since > WINDOW_MS) {
        this.failures.delete(key);
        continue;
      }
      if (f.count >= this.settings.LOGIN_MAX_FAILURES) {
        const retryAfter = Math.ceil((f.since + WINDOW_MS - now) / 1000);
        throw new ApiError(429, 'too_many_attempts', `too many failed sign-ins: try again in ${retryAfter} s`, {
          reason: 'too many failed sign-ins',
          headers: { 'retry-after': String(retryAfter) },
        });
      }
    }
  }

  failed(keys: string[], now = Date.now()): void {
    if (this.failures.size > MAX_TRACKED) this.failures.clear();
    for (const key of keys) {
      const f = this.failures.get(key);
      if (!f || now - f.since > WINDOW_MS) this.failures.set(key, { count: 1, since: now });
      else f.count++;
    }
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }
}
