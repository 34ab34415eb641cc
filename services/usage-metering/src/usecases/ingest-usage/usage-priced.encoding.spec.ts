import { fromBinary } from '@bufbuild/protobuf';
import { encodePayload, Topics, UsagePricedSchema, type PayloadInit } from '@hishamos/contracts';
import { encodeUsagePricedMany } from './usage-priced.encoding';

type Init = PayloadInit<typeof Topics.UsagePriced>;

const full: Init = {
  requestId: 'req-1',
  userId: 'user-42',
  teamId: 'team-7',
  agent: 'coder',
  command: 'review',
  provider: 'openai',
  model: 'gpt-4o',
  usage: { inputTokens: 1234n, outputTokens: 567n, cachedInputTokens: 1000n },
  occurredAt: { seconds: 1_763_769_600n, nanos: 123_000_000 },
  costUsd: '0.012345678901',
  priced: true,
  unpricedReason: '',
  usageDay: '2025-11-22',
  userSpendDayUsd: '12.5',
  globalSpendDayUsd: '100045.000000000001',
  runId: 'run-9',
};

const cases: [string, Init][] = [
  ['every field', full],
  [
    'unpriced, no team, no run, zero tokens',
    {
      ...full,
      teamId: '',
      runId: '',
      usage: { inputTokens: 0n, outputTokens: 0n, cachedInputTokens: 0n },
      costUsd: '0',
      priced: false,
      unpricedReason: 'unknown model: no price for acme/x',
    },
  ],
  [
    'long and non-ASCII strings (multi-byte lengths)',
    {
      ...full,
      model: 'модель-'.repeat(30),
      command: 'é'.repeat(42),
      agent: '🙂'.repeat(21),
      unpricedReason: 'x'.repeat(300),
      runId: 'r'.repeat(200),
    },
  ],
  [
    'large token counts, a time before 1970, whole seconds',
    {
      ...full,
      usage: { inputTokens: 2n ** 40n + 3n, outputTokens: 2n ** 62n, cachedInputTokens: 128n },
      occurredAt: { seconds: -86_401n, nanos: 0 },
    },
  ],
  ['no usage, no time, nothing else', { requestId: 'only' }],
  ['an empty payload', {}],
];

describe('encodeUsagePricedMany', () => {
  it('knows every field of the message (a field added to the .proto must be added to the encoder)', () => {
    expect(UsagePricedSchema.fields.map((f) => f.number)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    ]);
  });

  it.each(cases)('writes the bytes of the generated encoder: %s', (_name, payload) => {
    const [bytes] = encodeUsagePricedMany([payload]);
    expect(Buffer.from(bytes).toString('hex')).toBe(
      Buffer.from(encodePayload(Topics.UsagePriced, payload)).toString('hex'),
    );
  });

  it('takes int64 fields as JS numbers too, with the same bytes', () => {
    const asNumbers = {
      ...full,
      usage: { inputTokens: 2 ** 40 + 3, outputTokens: 567, cachedInputTokens: 0 },
      occurredAt: { seconds: 1_763_769_600, nanos: 5 },
    };
    const asBigints = {
      ...full,
      usage: { inputTokens: 2n ** 40n + 3n, outputTokens: 567n, cachedInputTokens: 0n },
      occurredAt: { seconds: 1_763_769_600n, nanos: 5 },
    };
    const [a, b] = encodeUsagePricedMany([asNumbers, asBigints]);
    expect(Buffer.from(a).toString('hex')).toBe(Buffer.from(b).toString('hex'));
    expect(Buffer.from(a).toString('hex')).toBe(
      Buffer.from(encodePayload(Topics.UsagePriced, asBigints)).toString('hex'),
    );
  });

  it('encodes a batch into separate views that decode to each payload', () => {
    const payloads = cases.map(([, p]) => p);
    const out = encodeUsagePricedMany(payloads);
    expect(out).toHaveLength(payloads.length);
    out.forEach((bytes, i) => {
      expect(Buffer.from(bytes).equals(Buffer.from(encodePayload(Topics.UsagePriced, payloads[i])))).toBe(true);
      expect(fromBinary(UsagePricedSchema, bytes).requestId).toBe(payloads[i].requestId ?? '');
    });
  });
});
