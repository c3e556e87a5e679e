import { addUsd } from './money.js';

describe('addUsd', () => {
  it('adds decimal strings exactly', () => {
    expect(addUsd('0.1', '0.2')).toBe('0.3');
    expect(addUsd('0.00000001', '1')).toBe('1.00000001');
    expect(addUsd()).toBe('0');
    expect(addUsd('2.5', '-0.5')).toBe('2');
  });
});
