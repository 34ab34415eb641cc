import { ConfigError, loadConfig, PlatformConfig } from './platform-config.dto';

describe('loadConfig', () => {
  it('applies defaults and converts numbers', () => {
    const c = loadConfig(PlatformConfig, { PORT: '9000', MAX_CONCURRENT_WORKFLOWS: '7' });
    expect(c.PORT).toBe(9000);
    expect(c.MAX_CONCURRENT_WORKFLOWS).toBe(7);
    expect(c.HISHAMOS_MODE).toBe('embedded');
    expect(c.MAX_CONCURRENT_TASKS_PER_AGENT).toBe(5);
  });

  it('names every bad variable', () => {
    expect(() => loadConfig(PlatformConfig, { PORT: 'x', LOG_LEVEL: 'loud', HISHAMOS_MODE: 'distributed' })).toThrow(
      ConfigError,
    );
    try {
      loadConfig(PlatformConfig, { PORT: 'x', LOG_LEVEL: 'loud', HISHAMOS_MODE: 'distributed' });
    } catch (e) {
      const text = (e as ConfigError).problems.join('\n');
      expect(text).toMatch(/PORT/);
      expect(text).toMatch(/LOG_LEVEL/);
      expect(text).toMatch(/DATABASE_URL is required in distributed mode/);
      expect(text).toMatch(/SERVICE_TOKEN/);
    }
  });

  it('does not copy unrelated environment variables', () => {
    const c = loadConfig(PlatformConfig, { OPENAI_API_KEY: 'sk-should-not-be-here' }) as unknown as Record<
      string,
      unknown
    >;
    expect(c.OPENAI_API_KEY).toBeUndefined();
  });
});
