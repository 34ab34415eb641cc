import 'reflect-metadata';
import { ApiError, platformValidationPipe } from '@hishamos/platform';
import { fastReserveBudgetCommand, ReserveBudgetCommand, reserveBudgetCommandOf } from './reserve-budget.command';

const valid = {
  requestId: 'req-1',
  userId: 'u-1',
  teamId: 't-1',
  provider: 'openai',
  model: 'gpt-4o',
  agent: 'coder',
  command: 'review',
  inputTokens: 1000,
  maxOutputTokens: 500,
};
const minimal = { requestId: 'r', userId: 'u', provider: 'p', model: 'm', inputTokens: 0, maxOutputTokens: 0 };

/** What the global ValidationPipe (the path before this fast one) answers: the command or the 400 body. */
async function viaPipe(body: unknown): Promise<{ ok: unknown } | { error: unknown }> {
  try {
    return { ok: await platformValidationPipe().transform(body, { type: 'body', metatype: ReserveBudgetCommand }) };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { error: { status: e.status, body: e.body() } };
  }
}

async function viaHandler(body: unknown): Promise<{ ok: unknown } | { error: unknown }> {
  try {
    return { ok: await reserveBudgetCommandOf(body) };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { error: { status: e.status, body: e.body() } };
  }
}

const bad: Record<string, unknown[]> = {
  requestId: [undefined, null, '', 'x'.repeat(201), 7, ['a'], {}],
  userId: [undefined, null, '', 'u'.repeat(201), true],
  teamId: ['t'.repeat(201), 5, false, {}],
  provider: [undefined, '', 'p'.repeat(51), 1],
  model: [undefined, '', 'm'.repeat(201), null],
  agent: ['a'.repeat(201), 3, []],
  command: ['c'.repeat(201), {}],
  inputTokens: [undefined, null, -1, 1.5, 100_000_001, '1000', Number.NaN, true],
  maxOutputTokens: [undefined, -5, 0.1, 100_000_001, '5', null],
};

describe('ReserveBudgetCommand fast validation', () => {
  it('takes a valid body without the pipe, as the same command the pipe gives', async () => {
    for (const body of [valid, minimal, { ...minimal, teamId: '', agent: '', command: '' }]) {
      const fast = fastReserveBudgetCommand(body);
      expect(fast).toBeInstanceOf(ReserveBudgetCommand);
      expect(fast).toEqual(((await viaPipe(body)) as { ok: unknown }).ok);
      expect(reserveBudgetCommandOf(body)).not.toBeInstanceOf(Promise);
    }
    expect(fastReserveBudgetCommand({ ...valid, requestId: 'x'.repeat(200), provider: 'p'.repeat(50) })).toBeDefined();
  });

  it.each(Object.entries(bad))('refuses each bad %s with the same 400 as the ValidationPipe', async (field, values) => {
    for (const value of values) {
      const body: Record<string, unknown> = { ...valid };
      if (value === undefined) delete body[field];
      else body[field] = value;
      expect(fastReserveBudgetCommand(body)).toBeUndefined();
      const expected = await viaPipe(body);
      const got = await viaHandler(body);
      expect(got).toEqual(expected);
      expect(got).toMatchObject({
        error: { status: 400, body: { error: { code: 'validation_failed', field } } },
      });
    }
  });

  it('refuses unknown properties and bodies that are not objects, as the pipe does', async () => {
    for (const body of [{ ...valid, extra: 1 }, { ...valid, __proto__x: 1 }, [], 'text', 42, null, {}]) {
      expect(fastReserveBudgetCommand(body)).toBeUndefined();
      expect(await viaHandler(body)).toEqual(await viaPipe(body));
    }
    const extra = await viaHandler({ ...valid, extra: 1 });
    expect(extra).toMatchObject({ error: { status: 400, body: { error: { field: 'extra' } } } });
  });

  it('leaves doubtful but valid bodies to the pipe, which accepts them', async () => {
    const nullTeam = { ...valid, teamId: null };
    expect(fastReserveBudgetCommand(nullTeam)).toBeUndefined();
    expect(await viaHandler(nullTeam)).toEqual(await viaPipe(nullTeam));
    expect(await viaHandler(nullTeam)).toMatchObject({ ok: { teamId: null, requestId: 'req-1' } });
  });

  it('never accepts what the pipe refuses (random bodies)', async () => {
    const pool: unknown[] = ['', 'a', 'x'.repeat(50), 'x'.repeat(51), 'y'.repeat(200), 'y'.repeat(201), 0, 1, -1, 2.5];
    pool.push(100_000_000, 100_000_001, null, true, [], {});
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let t = 0; t < 400; t++) {
      const body: Record<string, unknown> = { ...valid };
      for (const key of Object.keys(valid))
        if (rnd(3) === 0) body[key] = rnd(8) === 0 ? undefined : pool[rnd(pool.length)];
      for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
      const fast = fastReserveBudgetCommand(body);
      const piped = await viaPipe(body);
      if (fast) {
        accepted++;
        expect(piped).toEqual({ ok: fast });
      }
      expect(await viaHandler(body)).toEqual(piped);
    }
    expect(accepted).toBeGreaterThan(10);
  });
});
