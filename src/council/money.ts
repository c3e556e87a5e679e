/**
 * USD amounts as exact decimal strings (numeric(18,8) in PostgreSQL), computed in integer units of
 * 1e-8 USD so sums and comparisons never drift the way floats do.
 */
const SCALE = 8;
const UNIT = 10n ** BigInt(SCALE);

export function usdToUnits(value: string | undefined | null): bigint {
  if (value === undefined || value === null || value.trim() === '') return 0n;
  const match = /^(-)?(\d*)(?:\.(\d*))?$/.exec(value.trim());
  if (!match) throw new RangeError(`Not a decimal amount: ${value}`);
  const [, sign, whole = '', fraction = ''] = match;
  const units = BigInt(whole || '0') * UNIT + BigInt((fraction + '0'.repeat(SCALE)).slice(0, SCALE) || '0');
  return sign ? -units : units;
}

export function unitsToUsd(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / UNIT;
  const fraction = (abs % UNIT).toString().padStart(SCALE, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

export function addUsd(...values: (string | undefined | null)[]): string {
  return unitsToUsd(values.reduce<bigint>((sum, v) => sum + usdToUnits(v), 0n));
}

/** `0.00120000` → `0.0012`, as the rest of the API prints money; still a decimal string. */
export function normaliseUsd(value: string): string {
  if (!value.includes('.')) return value;
  return value.replace(/0+$/, '').replace(/\.$/, '');
}

export function isUsdAmount(value: string): boolean {
  return /^\d+(\.\d{1,8})?$/.test(value.trim());
}
