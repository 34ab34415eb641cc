import { fromPico, isUsdAmount, normalizeUsd, sumUsd, toPico, usd } from './money';

describe('money (exact decimal USD)', () => {
  it('parses decimal strings and plain numbers into pico-dollars', () => {
    expect(toPico('1')).toBe(1_000_000_000_000n);
    expect(toPico('0.000000000001')).toBe(1n);
    expect(toPico('12.5')).toBe(12_500_000_000_000n);
    expect(toPico(0.1)).toBe(100_000_000_000n);
    expect(toPico('-2.25')).toBe(-2_250_000_000_000n);
    expect(toPico('1.50000000000000000000')).toBe(1_500_000_000_000n);
  });

  it('rejects what is not an exact decimal', () => {
    for (const bad of ['', 'abc', '1e3', '1.2.3', ' ', '0.0000000000001'])
      expect(() => toPico(bad)).toThrow(RangeError);
    expect(() => toPico(1e21)).toThrow(RangeError);
    expect(() => toPico(Number.NaN)).toThrow(RangeError);
  });

  it('formats with at least two decimals and no trailing zeros beyond', () => {
    expect(fromPico(0n)).toBe('0.00');
    expect(fromPico(toPico('4.2'))).toBe('4.20');
    expect(fromPico(toPico('0.012500000000'))).toBe('0.0125');
    expect(fromPico(-1n)).toBe('-0.000000000001');
    expect(fromPico(toPico('3'), 0)).toBe('3');
    expect(usd(null)).toBeNull();
    expect(usd('100.000000')).toBe('100.00');
  });

  it('round-trips amounts of every size and sign exactly', () => {
    let seed = 99n;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
      const units = (seed % 10n ** BigInt(1 + (i % 24))) * (i % 3 === 0 ? -1n : 1n);
      const text = fromPico(units, i % 4);
      expect(toPico(text)).toBe(units);
      const [whole, frac = ''] = text.replace('-', '').split('.');
      expect(frac.length).toBeGreaterThanOrEqual(i % 4);
      expect(frac.length <= i % 4 || !frac.endsWith('0')).toBe(true);
      expect(whole).toMatch(/^(0|[1-9]\d*)$/);
    }
  });

  it('adds without floating-point drift', () => {
    const tenths = Array.from({ length: 10 }, () => '0.1');
    expect(sumUsd(tenths)).toBe('1.00');
    let float = 0;
    for (let i = 0; i < 10; i++) float += 0.1;
    expect(float).not.toBe(1);
  });

  it('validates input amounts', () => {
    expect(isUsdAmount('50')).toBe(true);
    expect(isUsdAmount(12.5)).toBe(true);
    expect(isUsdAmount('0.000001')).toBe(true);
    expect(isUsdAmount('0.0000001')).toBe(false);
    expect(isUsdAmount('-1')).toBe(false);
    expect(isUsdAmount('1e2')).toBe(false);
    expect(isUsdAmount(null)).toBe(false);
    expect(isUsdAmount(Infinity)).toBe(false);
    expect(normalizeUsd('050.5')).toBe('50.50');
  });
});
