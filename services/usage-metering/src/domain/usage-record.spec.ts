import { create } from '@bufbuild/protobuf';
import { Topics, UsageRecordedSchema, type Envelope } from '@hishamos/contracts';
import { InvalidUsageRecordError, toUsageRecord } from './usage-record';

const now = new Date('2025-06-01T12:00:00Z');

function event(over: Record<string, unknown> = {}, attrs: Partial<Envelope['attributes']> = {}) {
  const payload = create(UsageRecordedSchema, {
    requestId: 'r-1',
    userId: 'u-1',
    provider: 'openai',
    model: 'gpt-4o',
    usage: { inputTokens: 100n, outputTokens: 50n, cachedInputTokens: 20n },
    occurredAt: { seconds: BigInt(Date.parse('2025-06-01T11:59:00Z') / 1000), nanos: 5_000_000 },
    ...over,
  });
  return {
    topic: Topics.UsageRecorded,
    key: 'u-1',
    payload,
    headers: {},
    attributes: {
      id: 'ev-1',
      source: 'gw',
      type: 't',
      specversion: '1.0',
      time: '',
      contentType: 'application/protobuf',
      ...attrs,
    },
  } as Envelope<typeof Topics.UsageRecorded>;
}

function reason(over: Record<string, unknown>): string {
  try {
    toUsageRecord(event(over), now);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidUsageRecordError);
    expect((e as InvalidUsageRecordError).retryable).toBe(false);
    return (e as Error).message;
  }
  throw new Error('expected the record to be rejected');
}

describe('usage record validation', () => {
  it('normalises a good record', () => {
    const r = toUsageRecord(event({ currency: 'usd', reservationId: 'AB2E4C51-9F6B-4F7A-8C38-1D1B2F5C7A90' }), now);
    expect(r).toMatchObject({
      eventId: 'ev-1',
      requestId: 'r-1',
      inputTokens: 100,
      outputTokens: 50,
      cachedInputTokens: 20,
      currency: 'USD',
      reservationId: 'ab2e4c51-9f6b-4f7a-8c38-1d1b2f5c7a90',
      teamId: '',
    });
    expect(r.occurredAt.toISOString()).toBe('2025-06-01T11:59:00.005Z');
  });

  it('rejects negative or impossible token counts, unknown currencies and missing fields, naming the field', () => {
    expect(reason({ usage: { inputTokens: -5n, outputTokens: 1n } })).toMatch(
      /usage.input_tokens: must not be negative/,
    );
    expect(reason({ usage: { inputTokens: 5n, outputTokens: -1n } })).toMatch(/usage.output_tokens/);
    expect(reason({ usage: { inputTokens: 5n, outputTokens: 1n, cachedInputTokens: 6n } })).toMatch(
      /cached_input_tokens/,
    );
    expect(reason({ usage: { inputTokens: 10n ** 15n, outputTokens: 1n } })).toMatch(/implausibly large/);
    expect(reason({ currency: 'EUR' })).toMatch(/currency: unknown or unsupported currency 'EUR'/);
    expect(reason({ currency: 'XX1' })).toMatch(/currency/);
    expect(reason({ requestId: '' })).toMatch(/request_id: is required/);
    expect(reason({ userId: '  ' })).toMatch(/user_id: is required/);
    expect(reason({ model: '' })).toMatch(/model: is required/);
    expect(reason({ usage: undefined })).toMatch(/usage: is required/);
    expect(reason({ reservationId: 'not-a-uuid' })).toMatch(/reservation_id/);
    expect(reason({ agent: 'a\u0000b' })).toMatch(/agent: contains control characters/);
    expect(reason({ command: 'write\tcode' })).toMatch(/command: contains control characters/);
    expect(() => toUsageRecord(event({}, { id: 'ev\n1' }), now)).toThrow(/ce_id: contains control characters/);
  });

  it('takes the event time when the record has none, and receipt time for a far-future stamp', () => {
    const r = toUsageRecord(event({ occurredAt: undefined }, { time: '2025-06-01T10:00:00Z' }), now);
    expect(r.occurredAt.toISOString()).toBe('2025-06-01T10:00:00.000Z');
    const future = toUsageRecord(
      event({ occurredAt: { seconds: BigInt(Date.parse('2025-06-02T00:00:00Z') / 1000), nanos: 0 } }),
      now,
    );
    expect(future.occurredAt).toEqual(now);
  });
});
