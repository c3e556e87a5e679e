import {
  addMoney,
  compareMoney,
  formatDecimal,
  fromMicroCents,
  normaliseUsd,
  parseDecimal,
  toMicroCents,
  usdFromNumber,
} from './money.js';

describe('money', () => {
  it('parses and formats decimals exactly', () => {
    expect(toMicroCents('12.5')).toBe(1_250_000_000n);
    expect(fromMicroCents(1n)).toBe('0.00000001');
    expect(fromMicroCents(-150_000_000n)).toBe('-1.50000000');
    expect(parseDecimal('0.075', 12)).toBe(75_000_000_000n);
    expect(formatDecimal(75n, 3)).toBe('0.075');
    expect(() => toMicroCents('0.000000001')).toThrow();
    expect(() => toMicroCents('1e-3')).toThrow();
  });

  it('adds and compares without float error', () => {
    expect(addMoney('0.1', '0.2')).toBe('0.30000000');
    expect(compareMoney('0.30000000', addMoney('0.1', '0.2'))).toBe(0);
    expect(compareMoney('1', '0.99999999')).toBe(1);
    expect(addMoney('0.00000001', '1')).toBe('1.00000001');
    expect(addMoney('2.5', '-0.5')).toBe('2.00000000');
    expect(addMoney()).toBe('0.00000000');
  });

  it('refuses, never truncates, an amount it cannot hold exactly', () => {
    expect(() => addMoney('12.345678919')).toThrow(RangeError);
    expect(addMoney('12.345678910')).toBe('12.34567891');
    expect(() => addMoney('abc')).toThrow(RangeError);
    expect(() => addMoney('')).toThrow(RangeError);
  });

  it('prints amounts without trailing zeros', () => {
    expect(normaliseUsd('0.00120000')).toBe('0.0012');
    expect(normaliseUsd('2.00000000')).toBe('2');
    expect(normaliseUsd('0')).toBe('0');
    expect(normaliseUsd(addMoney('0.1', '0.2'))).toBe('0.3');
  });
});

describe('usdFromNumber', () => {
  it('turns a reported JSON number into an exact decimal, half-up at 10^-8', () => {
    expect(usdFromNumber(0.0001234)).toBe('0.00012340');
    expect(usdFromNumber(1.5e-7)).toBe('0.00000015');
    expect(usdFromNumber(0.000000125)).toBe('0.00000013');
    expect(usdFromNumber(0.1 + 0.2)).toBe('0.30000000');
    expect(usdFromNumber(0)).toBe('0.00000000');
  });
});
