import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { ApiError } from '@hishamos/platform';
import { blockedRange } from './address-ranges';

export type HostAllowed = (host: string) => boolean;
export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** The URL's host as compared with the allow-list: lowercase, IPv6 without brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

const blocked = (field: string, reason: string) =>
  new ApiError(400, 'blocked_base_url', `${field}: ${reason}`, { field, reason });

/**
 * Checks a provider base URL against SSRF: http(s) only, no credentials in it; its host (and every
 * address its name resolves to) outside loopback, link-local, private, CGNAT, unique-local and the
 * metadata address, unless an admin allowed that host. Plain http is accepted only for allowed hosts.
 * An unresolvable name passes here; connections check the resolved address again (guardedLookup).
 */
export async function checkBaseUrl(
  raw: string,
  allowed: HostAllowed,
  resolve: Resolver = systemResolver,
  field = 'baseUrl',
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw ApiError.badRequest(field, 'must be an absolute http(s) URL', 'validation_failed');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw ApiError.badRequest(field, 'must be an http or https URL', 'validation_failed');
  if (url.username || url.password)
    throw ApiError.badRequest(field, 'must not carry credentials: set the API key instead', 'validation_failed');
  if (url.search || url.hash)
    throw ApiError.badRequest(field, 'must not have a query or fragment', 'validation_failed');
  const host = normalizeHost(url.hostname);
  if (!host) throw ApiError.badRequest(field, 'has no host', 'validation_failed');
  if (allowed(host)) return url;
  if (url.protocol === 'http:')
    throw blocked(
      field,
      `plain http is only accepted for hosts an admin allowed (POST /v1/providers/allowed-hosts); use https`,
    );
  if (isIP(host)) {
    const range = blockedRange(host);
    if (range)
      throw blocked(
        field,
        `${host} is a ${range} address; an admin must allow this host first (POST /v1/providers/allowed-hosts)`,
      );
    return url;
  }
  if (host === 'localhost' || host.endsWith('.localhost'))
    throw blocked(field, `${host} is a loopback name; an admin must allow this host first`);
  let addresses: LookupAddress[] = [];
  try {
    addresses = await resolve(host);
  } catch {
    return url; // does not resolve now; every connection checks the address it resolves to
  }
  for (const { address } of addresses) {
    const range = blockedRange(address);
    if (range)
      throw blocked(
        field,
        `${host} resolves to ${address}, a ${range} address; an admin must allow this host first (POST /v1/providers/allowed-hosts)`,
      );
  }
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:http(s) requests that refuses blocked addresses unless the host is allowed:
 * the address checked is the address connected to (no DNS rebinding between check and use).
 */
export function guardedLookup(allowed: HostAllowed) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...(options as object), all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      if (!allowed(normalizeHost(hostname))) {
        for (const { address } of list) {
          const range = blockedRange(address);
          if (range) {
            const e = new Error(`${hostname} resolves to ${address}, a ${range} address`) as NodeJS.ErrnoException;
            e.code = 'EBLOCKEDADDRESS';
            return callback(e, []);
          }
        }
      }
      const wantsAll = (options as { all?: boolean }).all;
      if (wantsAll) return callback(null, list);
      return callback(null, list[0].address, list[0].family);
    });
  };
}
