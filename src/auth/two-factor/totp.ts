import { generate, generateSecret, generateURI, verify } from 'otplib';

/** RFC 6238 as the API promises it: SHA-1, 6 digits, 30-second steps, ±1 step of clock drift. */
export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
const TOLERANCE_SECONDS = TOTP_PERIOD;

type Digits = 6 | 7 | 8;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, label: string, issuer: string): string {
  return generateURI({ issuer, label, secret, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD });
}

/** The code for `epochSeconds` (default now); `digits` other than 6 only for the RFC test vectors. */
export function totpCode(
  secret: string,
  epochSeconds = Date.now() / 1000,
  digits: Digits = TOTP_DIGITS,
): Promise<string> {
  return generate({ secret, epoch: Math.floor(epochSeconds), algorithm: 'sha1', digits, period: TOTP_PERIOD });
}

/**
 * The time step a code belongs to (within ±1 step of now), or undefined. Steps at or before
 * `afterStep` are refused, so a code already used cannot be used again.
 */
export async function matchTotp(
  secret: string,
  code: string,
  options: { afterStep?: number; epochSeconds?: number; digits?: Digits } = {},
): Promise<number | undefined> {
  const digits = options.digits ?? TOTP_DIGITS;
  if (!new RegExp(`^\\d{${digits}}$`).test(code)) return undefined;
  const result = await verify({
    secret,
    token: code,
    algorithm: 'sha1',
    digits,
    period: TOTP_PERIOD,
    epoch: Math.floor(options.epochSeconds ?? Date.now() / 1000),
    epochTolerance: TOLERANCE_SECONDS,
    ...(options.afterStep !== undefined ? { afterTimeStep: options.afterStep } : {}),
  });
  // The functional API types its answer for TOTP and HOTP alike; a TOTP match carries timeStep.
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}
