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
 * (including none). No routes at all: `<name>:read` / `<name>:write` by method. Routes that
 * exist but do not match: null, and the gateway refuses the request.
 */
export function httpRouteScope(
  upstream: string,
  routes: readonly UpstreamRoute[],
  method: string,
  segments: readonly string[],
): string | null {
  if (routes.length === 0) return `${upstream}:${levelFor(method)}`;
  for (const route of routes) {
    if (route.method !== '*' && route.method !== method) continue;
    if (pathMatches(route.path, segments)) return route.scope;
  }
  return null;
}

export function pathMatches(pattern: string, segments: readonly string[]): boolean {
  const parts = pattern.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '**' && i === parts.length - 1) return true;
    const segment = segments[i];
    if (segment === undefined) return false;
    if (part !== '*' && part !== segment) return false;
  }
  return parts.length === segments.length;
}

/**
 * The path below `/gw/{upstream}`, split and checked. Segments are percent-decoded for
 * matching only (the upstream receives the path exactly as sent). A path that could mean one
 * thing to the scope check and another to the upstream is refused: dot segments, encoded
 * slashes or backslashes, empty segments and control characters.
 */
export function splitGatewayPath(rest: string): string[] | null {
  if (rest === '' || rest === '/') return [];
  if (!rest.startsWith('/')) return null;
  const raw = rest.slice(1).split('/');
  if (raw.at(-1) === '') raw.pop();
  const segments: string[] = [];
  for (const part of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return null;
    }
    if (decoded === '' || decoded === '.' || decoded === '..') return null;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[/\\\u0000-\u001f\u007f]/.test(decoded)) return null;
    segments.push(decoded);
  }
  return segments;
}
