/**
 * JSON with object keys sorted at every level: two bodies that mean the same thing (fields in
 * another order, another spacing) give the same text, so the Idempotency-Key fingerprint
 * depends on what was asked, not on how the client's serializer happened to order it.
 * Arrays keep their order (it means something); `undefined` fields are left out, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, item]) => `${JSON.stringify(k)}:${canonicalJson(item)}`).join(',')}}`;
}
