import { decodeEvent, encodeEvent, EventDecodeError } from './cloud-event';
import { Topics } from './topics';

describe('CloudEvents codec', () => {
  it('round-trips a protobuf payload with binary-mode headers', () => {
    const ev = encodeEvent(
      Topics.TaskRequested,
      { requestedBy: 'u1', agent: 'coding', command: 'write_code', inputs: { language: 'go' } },
      { key: 'u1', source: 'test' },
    );
    expect(ev.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'hishamos.events.v1.TaskRequested',
      ce_source: 'test',
      'content-type': 'application/protobuf',
    });
    const back = decodeEvent(Topics.TaskRequested, ev.key, ev.value, ev.headers);
    expect(back.payload.agent).toBe('coding');
    expect(back.payload.inputs).toEqual({ language: 'go' });
    expect(back.attributes.id).toBe(ev.id);
  });

  it('accepts JSON from external producers', () => {
    const headers = {
      ce_id: 'e1',
      ce_source: 'billing',
      ce_type: 'hishamos.events.v1.TaskRequested',
      ce_specversion: '1.0',
      'content-type': 'application/json',
    };
    const json = Buffer.from(JSON.stringify({ requestedBy: 'u2', workflow: 'release', inputs: { version: '1.2.0' } }));
    const ev = decodeEvent(Topics.TaskRequested, 'k', json, headers);
    expect(ev.payload.workflow).toBe('release');
    expect(ev.payload.inputs).toEqual({ version: '1.2.0' });
  });

  it.each([
    [{ ce_source: 's', ce_type: 'hishamos.events.v1.TaskRequested', ce_specversion: '1.0' }, 'ce_id'],
    [{ ce_id: '1', ce_source: 's', ce_type: 'hishamos.events.v1.UsageRecorded', ce_specversion: '1.0' }, 'ce_type'],
    [
      { ce_id: '1', ce_source: 's', ce_type: 'hishamos.events.v1.TaskRequested', ce_specversion: '0.3' },
      'ce_specversion',
    ],
  ])('rejects bad headers %#', (headers, field) => {
    expect(() =>
      decodeEvent(Topics.TaskRequested, 'k', new Uint8Array([1]), headers as Record<string, string>),
    ).toThrow(EventDecodeError);
    try {
      decodeEvent(Topics.TaskRequested, 'k', new Uint8Array([1]), headers as Record<string, string>);
    } catch (e) {
      expect((e as EventDecodeError).field).toBe(field);
    }
  });

  it('rejects malformed JSON and unknown fields with the reason', () => {
    const headers = {
      ce_id: 'e1',
      ce_source: 's',
      ce_type: 'hishamos.events.v1.TaskRequested',
      ce_specversion: '1.0',
      'content-type': 'application/json',
    };
    expect(() => decodeEvent(Topics.TaskRequested, 'k', Buffer.from('{not json'), headers)).toThrow(/not a valid/);
    expect(() => decodeEvent(Topics.TaskRequested, 'k', Buffer.from('{"agent": 42}'), headers)).toThrow(/agent/);
    expect(() => decodeEvent(Topics.TaskRequested, 'k', Buffer.from('{"bogus": 1}'), headers)).toThrow(/bogus/);
  });
});
