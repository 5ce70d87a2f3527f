import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from './schema-values.ts';

/**
 * Every HTTP route the server has, as the fuzz sees it. The documented ones come from the
 * served /openapi.json (the schemas Fastify validates with), so a new route is fuzzed the day it
 * is added; the hidden ones (forward-auth's every method, the gateway, the health and
 * documentation routes) are listed here. A test checks that the list covers Fastify's router.
 */
export type RouteAuth = 'management' | 'key' | 'github' | 'public';

export interface RouteSpec {
  /** `METHOD /template`, the name the suite reports. */
  name: string;
  methods: string[];
  /** With `{param}` placeholders; the gateway's and forward-auth's tails are `{rest}`. */
  template: string;
  params: Record<string, JsonSchema>;
  query: Record<string, JsonSchema>;
  /** The JSON body schema, or null when the route takes none (or reads it raw). */
  body: JsonSchema | null;
  auth: RouteAuth;
  /** Relative share of the inputs: the routes with the most logic get more. */
  weight: number;
}

interface OpenApiOperation {
  parameters?: Array<{ in: string; name: string; schema: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: unknown[];
}

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

/** Routes that take a key (not a management key), or none, despite the default security. */
const AUTH_OVERRIDES: Record<string, RouteAuth> = {
  '/v1/leaks/github': 'github',
  '/healthz': 'public',
  '/readyz': 'public',
  '/v1/auth': 'key',
};

const HEAVY = new Set([
  'POST /v1/keys',
  'PATCH /v1/keys/{id}',
  'POST /v1/upstreams',
  'PATCH /v1/upstreams/{id}',
]);

export async function routeCatalogue(app: FastifyInstance): Promise<RouteSpec[]> {
  const doc = (await app.inject({ url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, OpenApiOperation>>;
  };
  const routes: RouteSpec[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    if (template === '/v1/auth') continue; // below, with its tail
    for (const [method, op] of Object.entries(operations)) {
      const pick = (where: string) =>
        Object.fromEntries(
          (op.parameters ?? []).filter((p) => p.in === where).map((p) => [p.name, p.schema]),
        );
      const name = `${method.toUpperCase()} ${template}`;
      routes.push({
        name,
        methods: [method.toUpperCase()],
        template,
        params: pick('path'),
        query: pick('query'),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
        auth: AUTH_OVERRIDES[template] ?? (op.security?.length === 0 ? 'public' : 'management'),
        weight: HEAVY.has(name) ? 2 : 1,
      });
    }
  }
  const any = { type: 'string' } as JsonSchema;
  routes.push(
    ...(['/v1/auth', '/v1/auth/{rest}'] as const).map(
      (template): RouteSpec => ({
        name: `* ${template}`,
        methods: ALL_METHODS,
        template,
        params: template.endsWith('{rest}') ? { rest: any } : ({} as Record<string, JsonSchema>),
        query: { api_key: any },
        body: null,
        auth: 'key' as const,
        weight: 2,
      }),
    ),
    ...(['openai', 'generic'] as const).map((upstream) => ({
      name: `* /gw/${upstream}/{rest}`,
      methods: ALL_METHODS,
      template: `/gw/${upstream}/{rest}`,
      params: { rest: any },
      query: {},
      body: null,
      auth: 'key' as const,
      weight: 4,
    })),
    {
      name: '* /gw/{upstream}',
      methods: ALL_METHODS,
      template: '/gw/{upstream}',
      params: { upstream: any },
      query: {},
      body: null,
      auth: 'key' as const,
      weight: 1,
    },
    {
      name: 'GET /openapi.json',
      methods: ['GET', 'HEAD'],
      template: '/openapi.json',
      params: {},
      query: {},
      body: null,
      auth: 'public' as const,
      weight: 1,
    },
    {
      name: '* /{unknown}',
      methods: ALL_METHODS,
      template: '/{unknown}',
      params: { unknown: any },
      query: {},
      body: null,
      auth: 'management' as const,
      weight: 1,
    },
  );
  return routes;
}

/** Fastify's router as `/a/:b` paths, to check that the catalogue misses none. */
export function routerPaths(app: FastifyInstance): string[] {
  const out = new Set<string>();
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(match[2] ?? '');
    out.add(stack.join(''));
  }
  return [...out];
}

/** The catalogue's template in the router's spelling: `{id}` → `:id`, a tail `{rest}` → `*`. */
export function routerSpelling(template: string): string {
  return template.replace('/{rest}', '/*').replace(/\{(\w+)\}/g, ':$1');
}
