import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { JwtError } from './jwt';

interface Jwk extends JsonWebKey {
  kid?: string;
  use?: string;
  alg?: string;
}

/**
 * An identity provider's signing keys from its JWKS URL, cached for `cacheSeconds`. An unknown `kid`
 * refetches at most every `minRefetchSeconds` (key rotation at the provider), never on every request.
 */
export class JwksClient {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;
  private inflight?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly cacheSeconds: number,
    private readonly minRefetchSeconds = 10,
    private readonly now: () => number = Date.now,
  ) {}

  async key(kid: string | undefined): Promise<KeyObject> {
    if (this.fetchedAt === 0 || this.ageSeconds() > this.cacheSeconds) await this.refresh();
    let key = this.pick(kid);
    if (!key && this.ageSeconds() > this.minRefetchSeconds) {
      await this.refresh();
      key = this.pick(kid);
    }
    if (!key) throw new JwtError(kid ? `unknown signing key ${JSON.stringify(kid)}` : 'token has no key id (kid)');
    return key;
  }

  private ageSeconds(): number {
    return (this.now() - this.fetchedAt) / 1000;
  }

  private pick(kid: string | undefined): KeyObject | undefined {
    if (kid !== undefined) return this.keys.get(kid);
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async load(): Promise<void> {
    let body: { keys?: Jwk[] };
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = (await res.json()) as { keys?: Jwk[] };
    } catch (error) {
      // Keep the keys we had (the provider may be briefly down); tokens signed with them still verify,
      // and the next attempt waits minRefetchSeconds.
      if (this.keys.size > 0) {
        this.fetchedAt = this.now() - Math.max(0, this.cacheSeconds - this.minRefetchSeconds) * 1000;
        return;
      }
      throw new JwtError(`identity provider keys unavailable: ${(error as Error).message}`);
    }
    const keys = new Map<string, KeyObject>();
    for (const [i, jwk] of (body.keys ?? []).entries()) {
      if (jwk.kty !== 'RSA' || (jwk.use && jwk.use !== 'sig') || (jwk.alg && jwk.alg !== 'RS256')) continue;
      try {
        keys.set(jwk.kid ?? `#${i}`, createPublicKey({ key: jwk, format: 'jwk' }));
      } catch {
        // an unreadable key is skipped; the others stay usable
      }
    }
    this.keys = keys;
    this.fetchedAt = this.now();
  }
}
