/**
 * Money as integers: amounts are stored in micros (millionths of the currency, USD unless a
 * price table says otherwise), so that sums and comparisons are exact. The API speaks in
 * currency units with at most 6 decimals; conversion goes through the number's decimal text,
 * never through a float multiplication (`8.2 * 1e6` is 8199999.999999999).
 */
export const MICROS_PER_UNIT = 1_000_000;
export const MAX_DECIMALS = 6;

const DECIMAL = /^(\d+)(?:\.(\d{1,6}))?$/;

/**
 * `2.5` → `2_500_000`. null when the amount is negative, not finite, has more than 6
 * decimals, or does not fit a safe integer in micros.
 */
export function unitsToMicros(amount: number): number | null {
  if (!Number.isFinite(amount) || amount < 0) return null;
  // The shortest text that round-trips: exactly what the client wrote, for ≤ 17 digits.
  // Exponent forms (below 1e-6, from 1e21) do not match and are refused.
  const match = DECIMAL.exec(String(amount));
  if (!match) return null;
  const micros =
    BigInt(match[1]!) * BigInt(MICROS_PER_UNIT) +
    BigInt((match[2] ?? '').padEnd(MAX_DECIMALS, '0'));
  return micros <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(micros) : null;
}

/** `2_500_000` → `2.5`: the double nearest the exact quotient, so it prints as written. */
export function microsToUnits(micros: number): number {
  return micros / MICROS_PER_UNIT;
}

/**
 * `12` → `"0.000012"`: an amount in micros as exact decimal text, never through a float. The
 * API's `costUsd` fields use the default 6 decimals; people read fewer (`minDecimals`):
 * trailing zeros are dropped down to that many, never a digit that is not zero.
 */
export function formatUsd(micros: number, minDecimals = MAX_DECIMALS): string {
  if (!Number.isSafeInteger(micros))
    throw new RangeError(`not a whole number of micros: ${micros}`);
  const sign = micros < 0 ? '-' : '';
  const digits = String(Math.abs(micros)).padStart(MAX_DECIMALS + 1, '0');
  const units = digits.slice(0, -MAX_DECIMALS);
  let fraction = digits.slice(-MAX_DECIMALS);
  const keep = Math.max(0, Math.min(MAX_DECIMALS, minDecimals));
  while (fraction.length > keep && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return fraction === '' ? `${sign}${units}` : `${sign}${units}.${fraction}`;
}
