import { InternalHttpError, type InternalHttpClient } from '@hishamos/platform';
import { ChannelSecretError, HttpChannelSecrets, isAllowedSecretPath } from './channel-secrets';

function client(values: Record<string, string>, calls: string[]): InternalHttpClient {
  return {
    request: jest.fn(async (_method: string, path: string) => {
      const p = decodeURIComponent(path.split('path=')[1]);
      calls.push(p);
      if (p === 'channels/down') throw new InternalHttpError(503, {}, 'unavailable');
      if (p === 'channels/forbidden') throw new InternalHttpError(403, {}, 'forbidden');
      if (!(p in values)) throw new InternalHttpError(404, {}, 'not found');
      return { path: p, version: 1, value: values[p] };
    }),
  } as unknown as InternalHttpClient;
}

describe('channel secrets from the secrets service', () => {
  it('caches values, and drops them on rotation', async () => {
    const values = { 'channels/slack': 'https://hooks.example/one' };
    const calls: string[] = [];
    const secrets = new HttpChannelSecrets(client(values, calls), 60_000);
    expect(await secrets.read('channels/slack')).toBe('https://hooks.example/one');
    expect(await secrets.read('channels/slack')).toBe('https://hooks.example/one');
    expect(calls).toEqual(['channels/slack']);
    values['channels/slack'] = 'https://hooks.example/two';
    secrets.invalidate('channels/slack');
    expect(await secrets.read('channels/slack')).toBe('https://hooks.example/two');
    expect(calls).toHaveLength(2);
  });

  it('reports what failed without the value, retryable only when the service is down', async () => {
    const secrets = new HttpChannelSecrets(client({}, []), 60_000);
    await expect(secrets.read('channels/missing')).rejects.toMatchObject({
      retryable: false,
      message: 'secret channels/missing does not exist',
    });
    await expect(secrets.read('channels/forbidden')).rejects.toMatchObject({ retryable: false });
    await expect(secrets.read('channels/down')).rejects.toBeInstanceOf(ChannelSecretError);
    await expect(secrets.read('channels/down')).rejects.toMatchObject({ retryable: true });
  });

  it('only names paths alerting may read', () => {
    expect(isAllowedSecretPath('channels/slack/webhook-url')).toBe(true);
    expect(isAllowedSecretPath('webhooks/ops')).toBe(true);
    expect(isAllowedSecretPath('ai/platforms/openai')).toBe(false);
    expect(isAllowedSecretPath('channels/../ai/platforms/openai')).toBe(false);
    expect(isAllowedSecretPath('channels/')).toBe(false);
  });
});
