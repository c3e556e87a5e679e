/**
 * Exact money arithmetic, the only one in Quorum. Amounts are USD decimal strings (as PostgreSQL
 * `numeric(18,8)` returns them) and are computed with bigint, never floats. An amount with more
 * than 8 significant decimals, or that is not a plain decimal, is refused (an Error), never
 * truncated: every amount that reaches these helpers was priced or validated to 8 decimals, so
 * anything else is a bug to surface. Sums are 8-decimal strings; `normaliseUsd` is how the API
 * prints them.
 */
export const MONEY_DECIMALS = 8;
const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** A decimal string as an integer number of 10^-decimals units (exact; more digits are refused). */
export function parseDecimal(value: string, decimals: number): bigint {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new RangeError(`not a decimal: ${value}`);
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > decimals && /[1-9]/.test(fraction.slice(decimals))) {
    throw new RangeError(`${value} has more than ${decimals} decimals`);
  }
  const units =
    BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.slice(0, decimals).padEnd(decimals, '0') || '0');
  return sign ? -units : units;
}

export function formatDecimal(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const scale = 10n ** BigInt(decimals);
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(decimals, '0');
  return `${negative ? '-' : ''}${whole}${decimals > 0 ? `.${fraction}` : ''}`;
}

/** USD string → 10^-8 units. */
export const toMicroCents = (usd: string): bigint => parseDecimal(usd, MONEY_DECIMALS);
/** 10^-8 units → USD string with 8 decimals. */
export const fromMicroCents = (units: bigint): string => formatDecimal(units, MONEY_DECIMALS);

export function addMoney(...amounts: string[]): string {
  return fromMicroCents(amounts.reduce((sum, a) => sum + toMicroCents(a), 0n));
}

/** `0.00120000` → `0.0012`, `2.00000000` → `2`: how the API prints money; still a decimal string. */
export function normaliseUsd(value: string | number): string {
  const text = String(value);
  if (!text.includes('.')) return text;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}

export function compareMoney(a: string, b: string): number {
  const d = toMicroCents(a) - toMicroCents(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Integer division rounding half away from zero (for non-negative operands). */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator / 2n) / denominator;
}

/**
 * A USD amount a provider reported as a JSON number (OpenRouter's `usage.cost`), as an exact
 * decimal string rounded half-up to 10^-8. `toFixed(12)` prints the double's own value to 12
 * places, far below the rounding step, so no binary artefact reaches the result.
 */
export function usdFromNumber(value: number): string {
  const units12 = parseDecimal(value.toFixed(12), 12);
  return fromMicroCents(divRoundHalfUp(units12, 10n ** 4n));
}
