import { findLeaks } from './secret-scan';

describe('findLeaks', () => {
  const secrets = { 'provider key': 'sk-test-0123456789abcdef', 'webhook URL': 'http://127.0.0.1:9/hooks/abc def' };

  it('finds a value as is, JSON-escaped, URL-encoded or in base64, naming the secret and the place only', () => {
    const leaks = findLeaks(secrets, [
      { where: 'log', text: 'calling with sk-test-0123456789abcdef' },
      { where: 'event', text: JSON.stringify({ url: 'http://127.0.0.1:9/hooks/abc def' }) },
      { where: 'header', text: encodeURIComponent('http://127.0.0.1:9/hooks/abc def') },
      { where: 'blob', text: Buffer.from('sk-test-0123456789abcdef').toString('base64') },
      { where: 'clean', text: 'sk-test-0123 and a redacted [REDACTED]' },
    ]);
    expect(leaks).toEqual([
      { secret: 'provider key', where: 'log' },
      { secret: 'provider key', where: 'blob' },
      { secret: 'webhook URL', where: 'event' },
      { secret: 'webhook URL', where: 'header' },
    ]);
    expect(JSON.stringify(leaks)).not.toContain('0123456789abcdef');
  });

  it('refuses values too short to scan for', () => {
    expect(() => findLeaks({ pin: '1234' }, [])).toThrow(/pin is too short/);
  });
});
