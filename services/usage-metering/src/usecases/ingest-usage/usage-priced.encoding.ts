import type { PayloadInit, Topics } from '@hishamos/contracts';

type Int64 = bigint | number | string | undefined;

/**
 * A UsagePriced payload as the encoder takes it: the message's init shape, with int64 fields also as
 * JS numbers (token counts and seconds are safe integers: no BigInt per field on the hot path).
 */
export type UsagePricedFields = Omit<PayloadInit<typeof Topics.UsagePriced>, 'usage' | 'occurredAt'> & {
  usage?: { inputTokens?: Int64; outputTokens?: Int64; cachedInputTokens?: Int64 };
  occurredAt?: { seconds?: Int64; nanos?: number };
};

/**
 * Encodes UsagePriced payloads (hishamos.events.v1.UsagePriced, proto/hishamos/events/v1/usage.proto)
 * into one buffer, returning a view per payload: the bytes `encodePayload(Topics.UsagePriced, p)`
 * gives (proto3, fields in number order, defaults omitted; a spec checks them byte for byte), without
 * the reflection-driven encoder, which cost about as much as the rest of the ingestion's own code.
 * Keep in step with the .proto: a field added there must be added here (the spec fails until it is).
 */
export function encodeUsagePricedMany(payloads: readonly UsagePricedFields[]): Buffer[] {
  let capacity = 0;
  for (const p of payloads) capacity += upperBound(p);
  const buf = Buffer.allocUnsafe(capacity);
  const out: Buffer[] = [];
  let pos = 0;
  for (const p of payloads) {
    const start = pos;
    pos = str(buf, pos, 0x0a, p.requestId); // 1 request_id
    pos = str(buf, pos, 0x12, p.userId); // 2 user_id
    pos = str(buf, pos, 0x1a, p.teamId); // 3 team_id
    pos = str(buf, pos, 0x22, p.agent); // 4 agent
    pos = str(buf, pos, 0x2a, p.command); // 5 command
    pos = str(buf, pos, 0x32, p.provider); // 6 provider
    pos = str(buf, pos, 0x3a, p.model); // 7 model
    if (p.usage) {
      // 8 usage (TokenUsage: three int64, at most 33 bytes: a one-byte length)
      buf[pos++] = 0x42;
      const at = pos++;
      pos = int64(buf, pos, 0x08, p.usage.inputTokens);
      pos = int64(buf, pos, 0x10, p.usage.outputTokens);
      pos = int64(buf, pos, 0x18, p.usage.cachedInputTokens);
      buf[at] = pos - at - 1;
    }
    if (p.occurredAt) {
      // 9 occurred_at (Timestamp: int64 seconds, int32 nanos, at most 22 bytes)
      buf[pos++] = 0x4a;
      const at = pos++;
      pos = int64(buf, pos, 0x08, p.occurredAt.seconds);
      pos = int64(buf, pos, 0x10, p.occurredAt.nanos);
      buf[at] = pos - at - 1;
    }
    pos = str(buf, pos, 0x52, p.costUsd); // 10 cost_usd
    if (p.priced) {
      buf[pos++] = 0x58; // 11 priced
      buf[pos++] = 1;
    }
    pos = str(buf, pos, 0x62, p.unpricedReason); // 12 unpriced_reason
    pos = str(buf, pos, 0x6a, p.usageDay); // 13 usage_day
    pos = str(buf, pos, 0x72, p.userSpendDayUsd); // 14 user_spend_day_usd
    pos = str(buf, pos, 0x7a, p.globalSpendDayUsd); // 15 global_spend_day_usd
    if (p.runId) {
      buf[pos++] = 0x82; // 16 run_id: a two-byte tag
      pos = str(buf, pos, 0x01, p.runId);
    }
    out.push(buf.subarray(start, pos));
  }
  return out;
}

const STRING_FIELDS = [
  'requestId',
  'userId',
  'teamId',
  'agent',
  'command',
  'provider',
  'model',
  'costUsd',
  'unpricedReason',
  'usageDay',
  'userSpendDayUsd',
  'globalSpendDayUsd',
  'runId',
] as const;

/** At most 3 UTF-8 bytes per UTF-16 unit, 6 bytes of tag and length per string, 80 for the rest (at most 62). */
function upperBound(p: UsagePricedFields): number {
  let n = 80;
  for (const f of STRING_FIELDS) {
    const s = p[f];
    if (s) n += s.length * 3 + 6;
  }
  return n;
}

/** A length-delimited string field (`tag` its one-byte key); nothing for an empty one. */
function str(buf: Buffer, pos: number, tag: number, s: string | undefined): number {
  if (!s) return pos;
  buf[pos++] = tag;
  if (s.length < 43) {
    // At most 126 bytes: a one-byte length, written after the bytes.
    const n = buf.write(s, pos + 1, 'utf8');
    buf[pos] = n;
    return pos + 1 + n;
  }
  pos = varint(buf, pos, Buffer.byteLength(s, 'utf8'));
  return pos + buf.write(s, pos, 'utf8');
}

/** A varint field (int64/int32 as protobuf encodes them: negatives as ten-byte two's complement); nothing for zero. */
function int64(buf: Buffer, pos: number, tag: number, v: Int64): number {
  if (v === undefined) return pos;
  if (typeof v === 'number') {
    if (v === 0) return pos;
    buf[pos++] = tag;
    if (v > 0 && Number.isSafeInteger(v)) return varint(buf, pos, v);
    return bigVarint(buf, pos, BigInt(v));
  }
  const b = BigInt(v);
  if (b === 0n) return pos;
  buf[pos++] = tag;
  if (b > 0n && b <= BigInt(Number.MAX_SAFE_INTEGER)) return varint(buf, pos, Number(b));
  return bigVarint(buf, pos, b);
}

function varint(buf: Buffer, pos: number, n: number): number {
  while (n > 127) {
    buf[pos++] = (n & 127) | 128; // & takes the low 32 bits: the low 7 are exact
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function bigVarint(buf: Buffer, pos: number, b: bigint): number {
  let u = BigInt.asUintN(64, b);
  while (u > 127n) {
    buf[pos++] = Number(u & 127n) | 128;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}
