import type { LimitDecision, LimitResult } from './types.ts';

/**
 * Rate-limit answers as HTTP headers, in the IETF httpapi draft's structured-field form
 * (draft-ietf-httpapi-ratelimit-headers), so clients can pace themselves before a 429:
 *
 *   RateLimit-Policy: "requests";q=100;w=60, "burst";q=10;w=1
 *   RateLimit: "requests";r=42;t=17, "burst";r=9;t=1
 *   Retry-After: 17                      (only when denied and the wait is known)
 *
 * `r` is the whole requests still allowed now, `t` the seconds until the bucket is full.
 * Only the HTTP layer should need this file; it knows nothing of how limits are stored.
 */
export function rateLimitHeaders(
  decision: Pick<LimitDecision, 'allowed' | 'limits' | 'retryAfterSeconds'>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (decision.limits.length > 0) {
    const names = policyNames(decision.limits);
    headers['RateLimit-Policy'] = decision.limits
      .map((limit, i) => `${sfString(names[i]!)};q=${limit.limit};w=${limit.windowSeconds}`)
      .join(', ');
    headers.RateLimit = decision.limits
      .map((limit, i) => `${sfString(names[i]!)};r=${limit.remaining};t=${limit.resetSeconds}`)
      .join(', ');
  }
  // Also for QUOTA_EXCEEDED without rate limits: DESIGN.md asks for Retry-After where known.
  if (!decision.allowed && decision.retryAfterSeconds !== null) {
    headers['Retry-After'] = String(decision.retryAfterSeconds);
  }
  return headers;
}

/**
 * Policy names must tell the items apart. A rule name is used as it is unless another limit
 * in the same answer has it too (say a key's and its owner's "requests"); then it is prefixed
 * with the kind of its subject (`owner:requests`), never with the subject's id, and numbered
 * as a last resort.
 */
function policyNames(limits: readonly LimitResult[]): string[] {
  const count = (names: string[], name: string) => names.filter((n) => n === name).length;
  const plain = limits.map((limit) => limit.name);
  const qualified = limits.map((limit, i) =>
    count(plain, plain[i]!) > 1 ? `${subjectKind(limit.subject)}:${limit.name}` : plain[i]!,
  );
  const seen = new Map<string, number>();
  return qualified.map((name) => {
    if (count(qualified, name) === 1) return name;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}#${n}`;
  });
}

function subjectKind(subject: string): string {
  const colon = subject.indexOf(':');
  return colon > 0 ? subject.slice(0, colon) : 'limit';
}

/** An RFC 9651 sf-string: printable ASCII only, with `"` and `\` escaped. */
function sfString(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
