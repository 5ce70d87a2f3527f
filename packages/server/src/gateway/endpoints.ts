import type { UpstreamRoute } from '../store/index.ts';

/**
 * Which scope a gateway request needs, as pure functions of (upstream, method, path).
 *
 * OpenAI upstreams follow OpenAI's restricted keys: GET/HEAD read, every other method writes,
 * and a scope may name one endpoint: `openai/chat.completions:write`. Because resources nest
 * with `/` (core/scopes.ts), `openai:write` covers every endpoint of the `openai` upstream and
 * a bare `write` every upstream. Generic HTTP upstreams use their route → scope map, or the
 * same read/write convention on the upstream's name when they have no map.
 */

export type ScopeLevel = 'read' | 'write';

export function levelFor(method: string): ScopeLevel {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : 'write';
}

/** Two-word endpoints: the group's first segment alone says too little (`audio`, `chat` …). */
const GROUPED = new Set(['chat', 'audio', 'images', 'fine_tuning', 'realtime']);
const SEGMENT = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * `/v1/chat/completions` → `chat.completions`, `/v1/models/gpt-4o` → `models`,
 * `/v1/files/file-abc/content` → `files`. Ids below a resource do not name an endpoint: the
 * scope is per resource, like OpenAI's. Null for a path that names no resource.
 */
export function openaiEndpoint(segments: readonly string[]): string | null {
  const rest = segments[0] === 'v1' ? segments.slice(1) : segments;
  const first = rest[0];
  if (!first || !SEGMENT.test(first)) return null;
  const second = rest[1];
  if (GROUPED.has(first) && second && SEGMENT.test(second)) return `${first}.${second}`;
  return first;
}

export function openaiScope(upstream: string, method: string, segments: readonly string[]) {
  const endpoint = openaiEndpoint(segments);
  return endpoint === null ? null : `${upstream}/${endpoint}:${levelFor(method)}`;
}

/**
 * Generic upstream: the first route whose method and path match gives the scope. Path
 * patterns: literal segments, `*` for exactly one segment, a final `**` for any rest
 * (including none). Literal segments match without regard to case (`/admin` covers `/ADMIN`
 * and `/admın`: upstreams that ignore case would serve them as one), and a `HEAD` is matched
 * as the `GET` it mirrors. No routes at all: `<name>:read` / `<name>:write` by method. Routes
 * that exist but do not match: null, and the gateway refuses the request.
 */
export function httpRouteScope(
  upstream: string,
  routes: readonly UpstreamRoute[],
  method: string,
  segments: readonly string[],
): string | null {
  if (routes.length === 0) return `${upstream}:${levelFor(method)}`;
  const folded = segments.map(foldCase);
  for (const route of routes) {
    if (!methodMatches(route.method, method)) continue;
    if (pathMatchesFolded(route.path, folded)) return route.scope;
  }
  return null;
}

function methodMatches(pattern: string, method: string): boolean {
  return pattern === '*' || pattern === method || (method === 'HEAD' && pattern === 'GET');
}

/**
 * Case folding for matching: upper then lower, so that the letters an upstream's
 * case-insensitive comparison would take for ASCII ones (the dotless `ı` upper-cases to `I`)
 * fold to them too. Lookalikes that only Unicode normalisation would fold (`ｆ`, `K`, `ſ`)
 * never get here: canonicalGatewayPath refuses them.
 */
function foldCase(text: string): string {
  // `İ` (dotted capital I) lower-cases to `i` + a combining dot above; Java's
  // equalsIgnoreCase (and others) take it for `i`, so it folds to `i` here too.
  return text
    .toUpperCase()
    .toLowerCase()
    .replace(/i\u0307/g, 'i');
}

export function pathMatches(pattern: string, segments: readonly string[]): boolean {
  return pathMatchesFolded(pattern, segments.map(foldCase));
}

function pathMatchesFolded(pattern: string, folded: readonly string[]): boolean {
  const parts = pattern.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '**' && i === parts.length - 1) return true;
    const segment = folded[i];
    if (segment === undefined) return false;
    if (part !== '*' && foldCase(part) !== segment) return false;
  }
  return parts.length === folded.length;
}

/** A gateway path as checked, and as forwarded: the same segments, one spelling. */
export interface GatewayPath {
  /** Percent-decoded segments, for matching. */
  segments: string[];
  /** The canonical spelling the upstream receives: `''` or `/a/b` (a trailing `/` is kept). */
  path: string;
}

/**
 * The path below `/gw/{upstream}`, decoded, checked and spelt once. The scope is decided on
 * `segments` and the upstream receives `path`, their canonical encoding, so that no decision
 * is taken on one spelling while another is forwarded. A path that different servers could
 * read differently is refused (the reason is returned, for the 400):
 *
 * - empty segments (`//`), dot segments (`.`, `..`, `%2e`), encoded `/` or `\`;
 * - `;` (matrix parameters, which some servers strip: `/admin;x` is `/admin` to them), and
 *   an encoded `?` or `#`;
 * - a `%` left after decoding (double encoding: `%2561` is `%61` here, `a` to a server that
 *   decodes twice);
 * - a segment ending in `.` or beginning or ending in white space (`admin.`, `admin%20`,
 *   which Windows-backed servers trim);
 * - control, format (zero-width), private-use or unassigned characters, and any character
 *   that Unicode compatibility normalisation (NFKC) would change (fullwidth letters, the
 *   Kelvin sign, ligatures).
 */
export function canonicalGatewayPath(rest: string): GatewayPath | { refused: string } {
  if (rest === '' || rest === '/') return { segments: [], path: rest };
  if (!rest.startsWith('/')) return { refused: 'the path must start with /' };
  const raw = rest.slice(1).split('/');
  const trailingSlash = raw.length > 1 && raw.at(-1) === '';
  if (trailingSlash) raw.pop();
  const segments: string[] = [];
  for (const part of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return { refused: 'the path has a malformed percent-escape' };
    }
    const why = ambiguity(decoded);
    if (why) return { refused: `the path has ${why}` };
    segments.push(decoded);
  }
  const path = `/${segments.map(encodeSegment).join('/')}${trailingSlash ? '/' : ''}`;
  return { segments, path };
}

/** Why a decoded segment could be read differently by another server, or null. */
function ambiguity(segment: string): string | null {
  if (segment === '') return 'an empty segment';
  if (segment === '.' || segment === '..') return 'a dot segment';
  if (/[/\\]/.test(segment)) return 'an encoded slash or backslash';
  if (segment.includes(';')) return 'a ";" (matrix parameter)';
  if (/[?#]/.test(segment)) return 'an encoded "?" or "#"';
  if (segment.includes('%')) return 'a "%" after decoding (double encoding)';
  if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u.test(segment)) return 'a control or invisible character';
  if (/^\p{White_Space}|[\p{White_Space}.]$/u.test(segment))
    return 'a segment beginning with white space or ending in white space or "."';
  if (segment.normalize('NFKC') !== segment) return 'a character that normalises to another';
  return null;
}

/** RFC 3986 `pchar` minus `;`: what may stand unescaped in a segment. */
const PLAIN = /[A-Za-z0-9\-._~!$&'()*+,=:@]/;

function encodeSegment(segment: string): string {
  let out = '';
  for (const char of segment) out += PLAIN.test(char) ? char : encodeURIComponent(char);
  return out;
}

/** The decoded segments of a gateway path, or null when canonicalGatewayPath refuses it. */
export function splitGatewayPath(rest: string): string[] | null {
  const path = canonicalGatewayPath(rest);
  return 'refused' in path ? null : path.segments;
}
