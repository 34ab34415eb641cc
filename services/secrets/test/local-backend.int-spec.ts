import { randomBytes } from 'node:crypto';
import type { Database } from '@hishamos/persistence';
import { KeyRing, KeyRingError } from '../src/backends/local/key-ring';
import { LocalSecretBackend } from '../src/backends/local/local-secret.backend';
import { CasMismatchError, SecretIntegrityError, SecretNotFoundError } from '../src/domain/secret-errors';
import { secretsTestDatabase } from './fixtures/secrets-db';

jest.setTimeout(120000);

const b64 = () => randomBytes(32).toString('base64');
const val = () => `sv-${randomBytes(12).toString('hex')}`;

describe('local encrypted store on Postgres', () => {
  let env: Awaited<ReturnType<typeof secretsTestDatabase>>;
  let db: Database;
  let backend: LocalSecretBackend;
  const keySpec = `k1:${b64()}`;

  beforeAll(async () => {
    env = await secretsTestDatabase('secrets_local');
    db = await env.schema('secrets');
    backend = await LocalSecretBackend.open(db, KeyRing.parse(keySpec), { maxVersions: 3 });
  });
  afterAll(async () => env?.close());

  const write = (path: string, value: string, opts?: Parameters<LocalSecretBackend['write']>[3]) =>
    db.transaction((tx) => backend.write(tx, path, value, opts));
  const read = (path: string, version?: number) => db.transaction((tx) => backend.read(tx, path, version));

  it('keeps versions like KV v2: latest or a given version, at most max_versions, custom metadata', async () => {
    const values = [val(), val(), val(), val(), val()];
    for (const [i, v] of values.entries()) {
      const w = await write('ai/platforms/openai', v, {
        initialMetadata: { owner: 'agent-gateway' },
        metadata: i === 4 ? { platform: 'openai', owner: 'ops' } : undefined,
      });
      expect(w.version).toBe(i + 1);
    }
    const latest = await read('ai/platforms/openai');
    expect(latest.version).toBe(5);
    expect(latest.value === values[4]).toBe(true);
    expect(latest.metadata).toEqual({ owner: 'ops', platform: 'openai' });
    expect((await read('ai/platforms/openai', 3)).value === values[2]).toBe(true);
    await expect(read('ai/platforms/openai', 2)).rejects.toBeInstanceOf(SecretNotFoundError); // beyond max_versions
    await expect(read('ai/platforms/openai', 6)).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(read('ai/platforms/none')).rejects.toBeInstanceOf(SecretNotFoundError);
    const versions = await db.transaction((tx) => backend.versions(tx, 'ai/platforms/openai'));
    expect(versions).toMatchObject({ currentVersion: 5, oldestVersion: 3 });
    expect(versions.versions.map((v) => v.version)).toEqual([3, 4, 5]);
  });

  it('stores only ciphertext, a fresh nonce per value, under the active key id', async () => {
    const value = val();
    await write('providers/stored', value);
    await write('providers/stored', value);
    const rows = await db.query<{ key_id: string; nonce: Buffer; ciphertext: Buffer }>(
      `SELECT key_id, nonce, ciphertext FROM secret_versions WHERE path = 'providers/stored'`,
    );
    expect(rows.map((r) => r.key_id)).toEqual(['k1', 'k1']);
    expect(rows[0].nonce).toHaveLength(12);
    expect(rows[0].nonce.equals(rows[1].nonce)).toBe(false);
    const everything = JSON.stringify(await db.query(`SELECT * FROM secret_versions`));
    expect(everything.includes(value)).toBe(false);
    expect(rows.some((r) => r.ciphertext.includes(Buffer.from(value)))).toBe(false);
  });

  it('check-and-set: exactly one of many concurrent writers with the same cas wins', async () => {
    const path = 'channels/slack/token';
    await expect(write(path, val(), { cas: 0 })).resolves.toMatchObject({ version: 1 });
    await expect(write(path, val(), { cas: 0 })).rejects.toBeInstanceOf(CasMismatchError);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => write(path, val(), { cas: 1 })));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const l of lost) expect(l.reason).toBeInstanceOf(CasMismatchError);
    expect((await db.transaction((tx) => backend.versions(tx, path))).currentVersion).toBe(2);
  });

  it('concurrent writers without cas each get their own version; concurrent creators of a new path too', async () => {
    const path = 'webhooks/concurrent';
    const results = await Promise.all(Array.from({ length: 20 }, () => write(path, val())));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const creators = await Promise.allSettled(
      Array.from({ length: 10 }, () => write('webhooks/created-once', val(), { cas: 0 })),
    );
    expect(creators.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('soft-deletes, undeletes and destroys versions', async () => {
    const path = 'providers/anthropic';
    const [a, b] = [val(), val()];
    await write(path, a);
    await write(path, b);
    expect(await db.transaction((tx) => backend.softDelete(tx, path))).toEqual([2]);
    await expect(read(path)).rejects.toMatchObject({ extra: { reason: 'deleted' } });
    expect((await read(path, 1)).value === a).toBe(true);
    await db.transaction((tx) => backend.undelete(tx, path, [2]));
    expect((await read(path)).value === b).toBe(true);
    await db.transaction((tx) => backend.destroy(tx, path, [1]));
    await expect(read(path, 1)).rejects.toMatchObject({ extra: { reason: 'destroyed' } });
    await db.transaction((tx) => backend.undelete(tx, path, [1]));
    await expect(read(path, 1)).rejects.toMatchObject({ extra: { reason: 'destroyed' } });
    const [row] = await db.query<{ ciphertext: Buffer | null; key_id: string | null }>(
      `SELECT ciphertext, key_id FROM secret_versions WHERE path = $1 AND version = 1`,
      [path],
    );
    expect(row).toEqual({ ciphertext: null, key_id: null });
    await expect(db.transaction((tx) => backend.softDelete(tx, 'providers/none'))).rejects.toBeInstanceOf(
      SecretNotFoundError,
    );
  });

  it('lists the names under a folder', async () => {
    await write('list/a', val());
    await write('list/b/c', val());
    await write('list/b/d', val());
    await write('listx', val());
    expect(await db.transaction((tx) => backend.list(tx, 'list/'))).toEqual(['a', 'b/']);
    expect(await db.transaction((tx) => backend.list(tx, 'list/b/'))).toEqual(['c', 'd']);
    expect(await db.transaction((tx) => backend.list(tx, 'nothing/'))).toEqual([]);
  });

  it('refuses a tampered ciphertext, tag or nonce', async () => {
    await write('tamper/one', val());
    await db.query(
      `UPDATE secret_versions SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) WHERE path = 'tamper/one'`,
    );
    const e = await read('tamper/one').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SecretIntegrityError);
    expect(e).toMatchObject({ status: 500, code: 'integrity_error' });
    await write('tamper/two', val());
    await db.query(
      `UPDATE secret_versions SET ciphertext = set_byte(ciphertext, length(ciphertext) - 1, get_byte(ciphertext, length(ciphertext) - 1) # 128)
       WHERE path = 'tamper/two'`,
    );
    await expect(read('tamper/two')).rejects.toBeInstanceOf(SecretIntegrityError);
    await write('tamper/three', val());
    await db.query(
      `UPDATE secret_versions SET nonce = set_byte(nonce, 3, get_byte(nonce, 3) # 1) WHERE path = 'tamper/three'`,
    );
    await expect(read('tamper/three')).rejects.toBeInstanceOf(SecretIntegrityError);
  });

  it('refuses a value moved to another path or another version (path and version are bound as AAD)', async () => {
    await write('moved/source', val());
    await write('moved/target', val());
    await db.query(
      `UPDATE secret_versions t SET key_id = s.key_id, nonce = s.nonce, ciphertext = s.ciphertext
       FROM secret_versions s WHERE s.path = 'moved/source' AND s.version = 1 AND t.path = 'moved/target' AND t.version = 1`,
    );
    await expect(read('moved/target')).rejects.toBeInstanceOf(SecretIntegrityError);
    await write('moved/versions', val());
    await write('moved/versions', val());
    await db.query(
      `UPDATE secret_versions t SET key_id = s.key_id, nonce = s.nonce, ciphertext = s.ciphertext
       FROM secret_versions s WHERE s.path = 'moved/versions' AND s.version = 1 AND t.path = 'moved/versions' AND t.version = 2`,
    );
    await expect(read('moved/versions', 2)).rejects.toBeInstanceOf(SecretIntegrityError);
    expect((await read('moved/versions', 1)).version).toBe(1);
  });
});

describe('local store key ring on Postgres: wrong keys and master-key rotation', () => {
  let env: Awaited<ReturnType<typeof secretsTestDatabase>>;
  beforeAll(async () => {
    env = await secretsTestDatabase('secrets_keyring');
  });
  afterAll(async () => env?.close());

  it('a wrong ENCRYPTION_KEY fails loudly at open, naming the key id but never the key', async () => {
    const db = await env.schema('wrong_key');
    const right = b64();
    const ok = await LocalSecretBackend.open(db, KeyRing.parse(right), { maxVersions: 10 });
    await db.transaction((tx) => ok.write(tx, 'ai/platforms/openai', val()));
    const wrong = b64();
    const e = await LocalSecretBackend.open(db, KeyRing.parse(wrong), { maxVersions: 10 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KeyRingError);
    expect((e as Error).message).toMatch(
      /ENCRYPTION_KEY key default is not the key this secret store was encrypted with/,
    );
    expect((e as Error).message.includes(wrong) || (e as Error).message.includes(right)).toBe(false);
    await expect(LocalSecretBackend.open(db, KeyRing.parse(`k9:${b64()}`), { maxVersions: 10 })).rejects.toThrow(
      /encrypted with key id\(s\) default, which ENCRYPTION_KEY does not contain/,
    );
    await expect(
      LocalSecretBackend.open(db, KeyRing.parse(`k2:${b64()},default:${wrong}`), { maxVersions: 10 }),
    ).rejects.toThrow(/key default is not the key/);
    // the right key still opens it
    await expect(LocalSecretBackend.open(db, KeyRing.parse(right), { maxVersions: 10 })).resolves.toBeDefined();
  });

  it('re-encrypts every value under a new master key while reads and writes go on, then retires the old key', async () => {
    const db = await env.schema('rotation');
    const k1 = b64();
    const k2 = b64();
    const before = await LocalSecretBackend.open(db, KeyRing.parse(`k1:${k1}`), { maxVersions: 10 });
    const expected = new Map<string, string[]>();
    for (let p = 0; p < 40; p++) {
      const path = `svc/p${p}`;
      const values = [val(), val(), val()];
      for (const v of values) await db.transaction((tx) => before.write(tx, path, v));
      expected.set(path, values);
    }
    const after = await LocalSecretBackend.open(db, KeyRing.parse(`k2:${k2},k1:${k1}`), { maxVersions: 10 });
    expect(await after.valuesByKey()).toEqual({ k1: 120 });
    // a new value goes under the new key at once
    const fresh = val();
    await db.transaction((tx) => after.write(tx, 'svc/new', fresh));
    expected.set('svc/new', [fresh]);
    expect(await after.valuesByKey()).toEqual({ k1: 120, k2: 1 });

    let reencryptionDone = false;
    let reads = 0;
    const reader = (async () => {
      while (!reencryptionDone) {
        for (const [path, values] of expected) {
          const version = 1 + Math.floor(Math.random() * values.length);
          const got = await db.transaction((tx) => after.read(tx, path, version));
          if (got.value !== values[version - 1]) throw new Error(`wrong value read for ${path} v${version}`);
          reads++;
        }
      }
    })();
    let lastDuring = '';
    const writer = (async () => {
      while (!reencryptionDone) {
        const v = val();
        await db.transaction((tx) => after.write(tx, 'other/during', v));
        lastDuring = v;
      }
    })();
    let total = 0;
    try {
      for (;;) {
        const r = await db.transaction((tx) => after.reencryptBatch(tx, 7));
        total += r.reencrypted;
        if (r.reencrypted === 0) break;
        expect(r.fromKeyIds).toEqual(['k1']);
      }
    } finally {
      reencryptionDone = true;
    }
    await Promise.all([reader, writer]);
    expect(total).toBe(120);
    expect(reads).toBeGreaterThan(0);
    const byKey = await after.valuesByKey();
    expect(Object.keys(byKey)).toEqual(['k2']);

    // every value reads back under a ring that no longer has k1; its canary is retired
    const retired = await LocalSecretBackend.open(db, KeyRing.parse(`k2:${k2}`), { maxVersions: 10 });
    expect((await db.transaction((tx) => retired.read(tx, 'other/during'))).value === lastDuring).toBe(true);
    for (const [path, values] of expected) {
      for (const [i, v] of values.entries())
        expect((await db.transaction((tx) => retired.read(tx, path, i + 1))).value === v).toBe(true);
    }
    expect((await db.query<{ key_id: string }>(`SELECT key_id FROM keyring_canaries`)).map((r) => r.key_id)).toEqual([
      'k2',
    ]);
    // and the old key alone can no longer open the store
    await expect(LocalSecretBackend.open(db, KeyRing.parse(`k1:${k1}`), { maxVersions: 10 })).rejects.toThrow(
      /encrypted with key id\(s\) k2/,
    );
  });
});
