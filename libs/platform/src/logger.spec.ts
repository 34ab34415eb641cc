import { Writable } from 'node:stream';
import { createLogger, registerSecretValue } from './logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('writes JSON with the service name and redacts secret fields', () => {
    const { lines, stream } = capture();
    const log = createLogger('svc', 'info', stream);
    log.info(
      { apiKey: 'sk-abc-123456', user: { password: 'hunter22' }, headers: { authorization: 'Bearer xyz' } },
      'hello',
    );
    const rec = JSON.parse(lines[0]);
    expect(rec).toMatchObject({
      service: 'svc',
      level: 'info',
      msg: 'hello',
      apiKey: '[REDACTED]',
      user: { password: '[REDACTED]' },
      headers: { authorization: '[REDACTED]' },
    });
  });

  it('masks registered secret values anywhere in a line', () => {
    const { lines, stream } = capture();
    const log = createLogger('svc', 'info', stream);
    registerSecretValue('sk-live-very-secret-value');
    log.error(
      { err: { message: 'provider said: key sk-live-very-secret-value is invalid' } },
      'call failed with sk-live-very-secret-value',
    );
    expect(lines.join('')).not.toContain('sk-live-very-secret-value');
    expect(lines.join('')).toContain('[REDACTED]');
  });
});
