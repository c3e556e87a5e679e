import {
  addMoney,
  compareMoney,
  formatDecimal,
  fromMicroCents,
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
