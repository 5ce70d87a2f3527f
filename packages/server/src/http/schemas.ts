import { Type } from 'typebox';
import { BUDGET_PERIODS, type BudgetPeriod } from '../limiter/index.ts';
import { UPSTREAM_NAME_PATTERN } from '../upstreams/index.ts';
import { VERIFY_CODES, type VerifyCode } from '../verify/index.ts';

/**
 * The API's shapes, once: Fastify validates requests and serialises responses with them, and
 * /openapi.json is generated from them. Request objects reject unknown fields. Response
 * schemas also act as an allowlist: a field not named here (a hash, say) never leaves.
 */
export const Id = Type.String({ pattern: '^[a-z]{3}_[0-9A-Z]{26}$', maxLength: 30 });
/**
 * `x-keywarden-text` (validator.ts, redaction/text-policy.ts): an `identifier` is stored and
 * shown as given, so a key or provider secret in it is refused; a `name` or `text` is
 * redacted on the way in. Control characters and lone surrogates are refused in all of them.
 */
const IDENTIFIER = { 'x-keywarden-text': 'identifier' } as const;
const Name = Type.String({ minLength: 1, maxLength: 200, 'x-keywarden-text': 'name' });
const Reason = Type.String({ maxLength: 500, 'x-keywarden-text': 'text' });
const ProjectRef = Type.String({ minLength: 1, maxLength: 64, ...IDENTIFIER });
const ScopeString = Type.String({ minLength: 1, maxLength: 128, ...IDENTIFIER });
const Env = Type.String({ pattern: '^[a-z]{2,10}$' });
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const OwnerId = Type.String({ minLength: 1, maxLength: 200, ...IDENTIFIER });
// Keys of at most 100 characters: JSON Schema records drop the key schema, `json` checks it.
const Meta = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  maxProperties: 64,
  'x-keywarden-text': 'json',
});
const Cidr = Type.String({ minLength: 2, maxLength: 64, ...IDENTIFIER });

export const RateLimitRuleSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }),
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 31 * 86_400 }),
    unit: Type.Optional(
      Type.Union([Type.Literal('requests'), Type.Literal('tokens')], {
        description:
          'What the limit counts: `requests` (default) is spent by every verification; `tokens` (LLM tokens, TPM-style) only by the gateway',
      }),
    ),
  },
  { additionalProperties: false },
);
const RateLimits = Type.Array(RateLimitRuleSchema, { maxItems: 10 });
const NullableRateLimits = Type.Union([RateLimits, Type.Null()], {
  description: 'null: inherit the project defaults for the environment; []: no limits',
});
const Refill = Type.Object(
  {
    amount: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 366 * 86_400 }),
    mode: Type.Union([Type.Literal('add'), Type.Literal('reset')]),
  },
  { additionalProperties: false },
);
export const CreditsInputSchema = Type.Union([
  Type.Object(
    {
      remaining: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }),
      refill: Type.Optional(Type.Union([Refill, Type.Null()])),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
const CreditsOut = Type.Union([
  Type.Object({
    remaining: Type.Integer({ description: 'As last written back (about once a second)' }),
    refill: Type.Union([Refill, Type.Null()]),
    refilledAt: Type.String({ format: 'date-time' }),
  }),
  Type.Null(),
]);
const RotationPolicySchema = Type.Record(
  Type.String({ pattern: '^(\\*|[a-z]{2,10})$' }),
  Type.Object(
    {
      maxAgeDays: Type.Integer({ minimum: 1, maximum: 3650 }),
      enforce: Type.Optional(
        Type.Boolean({ description: 'Refuse keys past maxAgeDays + graceDays with EXPIRED' }),
      ),
      graceDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
    },
    { additionalProperties: false },
  ),
  {
    description: 'Maximum key age per environment; `*` for environments not named',
    // A key that is not an environment is refused, not passed unchecked to the service.
    additionalProperties: false,
  },
);
const RateLimitDefaults = Type.Record(Type.String({ pattern: '^(\\*|[a-z]{2,10})$' }), RateLimits, {
  description: 'Default rate limits per environment; `*` for environments not named',
  additionalProperties: false,
});

const Models = Type.Union(
  [
    Type.Array(Type.String({ pattern: '^[A-Za-z0-9._:/*-]{1,128}$', ...IDENTIFIER }), {
      minItems: 1,
      maxItems: 100,
    }),
    Type.Null(),
  ],
  {
    description:
      'Gateway: the models the key may call, exact names or `*` patterns (`gpt-4o*`); null: any model',
  },
);
export const BudgetSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }),
    amount: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1_000_000_000,
      description: 'In currency units (USD unless the price table says otherwise), ≤ 6 decimals',
    }),
    period: Type.Unsafe<BudgetPeriod>({
      type: 'string',
      enum: [...BUDGET_PERIODS],
      description: 'Calendar period in UTC; `total` never resets',
    }),
  },
  { additionalProperties: false },
);
const Budgets = Type.Union([Type.Array(BudgetSchema, { maxItems: 10 }), Type.Null()], {
  description: 'Gateway: money budgets (names unique); null: none',
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
    ),
  },
  { description: 'RFC 9457 problem details' },
);

const BudgetWarnings = Type.Array(Type.String(), {
  description:
    'On create and update: budgets smaller than what one request without max_tokens reserves (such requests would be refused)',
});

export const KeySchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    projectId: Id,
    env: Type.String(),
    display: Type.String({
      description: 'Safe display form: prefix, environment, last 5 characters',
    }),
    scopes: Type.Array(Type.String()),
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('revoked')]),
    ownerId: Type.Union([Type.String(), Type.Null()]),
    meta: Type.Record(Type.String(), Type.Unknown()),
    expiresAt: NullableTimestamp,
    allowedIps: Type.Array(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastUsedAt: NullableTimestamp,
    lastUsedIp: Type.Union([Type.String(), Type.Null()]),
    rotatedFromId: Type.Union([Type.String(), Type.Null()]),
    revokedAt: NullableTimestamp,
    ratelimits: NullableRateLimits,
    credits: CreditsOut,
    rotatedToId: Type.Union([Type.String(), Type.Null()]),
    models: Models,
    budgets: Budgets,
    warnings: Type.Optional(BudgetWarnings),
  },
  { description: 'An API key (never its plaintext or hash)' },
);

export const CreatedKeySchema = Type.Intersect([
  KeySchema,
  Type.Object({
    key: Type.String({
      description: 'The plaintext key. Returned once, by this response only: store it now.',
      'x-keywarden-secret': true,
    }),
  }),
]);

export const CreateKeyBody = Type.Object(
  {
    name: Name,
    project: Type.Optional(ProjectRef),
    env: Type.Optional(Env),
    scopes: Type.Optional(Type.Array(ScopeString, { maxItems: 100 })),
    expiresAt: Type.Optional(NullableTimestamp),
    ownerId: Type.Optional(Type.Union([OwnerId, Type.Null()])),
    meta: Type.Optional(Meta),
    allowedIps: Type.Optional(Type.Array(Cidr, { maxItems: 100 })),
    ratelimits: Type.Optional(NullableRateLimits),
    credits: Type.Optional(CreditsInputSchema),
    models: Type.Optional(Models),
    budgets: Type.Optional(Budgets),
  },
  { additionalProperties: false },
);

export const UpdateKeyBody = Type.Object(
  {
    name: Type.Optional(Name),
    scopes: Type.Optional(Type.Array(ScopeString, { maxItems: 100 })),
    expiresAt: Type.Optional(NullableTimestamp),
    ownerId: Type.Optional(Type.Union([OwnerId, Type.Null()])),
    meta: Type.Optional(Meta),
    allowedIps: Type.Optional(Type.Array(Cidr, { maxItems: 100 })),
    ratelimits: Type.Optional(NullableRateLimits),
    credits: Type.Optional(CreditsInputSchema),
    models: Type.Optional(Models),
    budgets: Type.Optional(Budgets),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const RevokeKeyBody = Type.Union([
  Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false }),
  Type.Null(),
]);

export const ListKeysQuery = Type.Object(
  {
    project: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    env: Type.Optional(Env),
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('revoked')]),
    ),
    ownerId: Type.Optional(OwnerId),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 100 })),
    rotationDue: Type.Optional(
      Type.String({
        maxLength: 40,
        description:
          'Only keys whose rotation (project policy) is due by this time: ISO 8601, `now`, or a duration like `14d`',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RotateKeyBody = Type.Union([
  Type.Object(
    { gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

const BulkFilterSchema = Type.Object(
  {
    project: Type.Optional(ProjectRef),
    env: Type.Optional(Env),
    ownerId: Type.Optional(OwnerId),
    createdBefore: Type.Optional(Timestamp),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'At least one condition: a bulk action never means "every key" by accident',
  },
);

export const BulkRevokeBody = Type.Object(
  {
    filter: BulkFilterSchema,
    dryRun: Type.Optional(Type.Boolean()),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);

export const BulkRotateBody = Type.Object(
  {
    filter: BulkFilterSchema,
    dryRun: Type.Optional(Type.Boolean()),
    gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })),
  },
  { additionalProperties: false },
);

export const KeyPage = Type.Object({
  data: Type.Array(KeySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ProjectSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    prefix: Type.String(),
    environments: Type.Array(Type.String()),
    allowQueryKey: Type.Boolean(),
    ratelimitDefaults: RateLimitDefaults,
    rotationPolicy: RotationPolicySchema,
    revokeOnLeak: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { description: 'A project' },
);

export const CreateProjectBody = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', ...IDENTIFIER }),
    prefix: Type.String({ pattern: '^[a-z][a-z0-9]{1,11}$' }),
    environments: Type.Optional(Type.Array(Env, { minItems: 1, maxItems: 20 })),
    allowQueryKey: Type.Optional(Type.Boolean()),
    ratelimitDefaults: Type.Optional(RateLimitDefaults),
    rotationPolicy: Type.Optional(RotationPolicySchema),
    revokeOnLeak: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const UpdateProjectBody = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', ...IDENTIFIER })),
    environments: Type.Optional(Type.Array(Env, { minItems: 1, maxItems: 20 })),
    allowQueryKey: Type.Optional(Type.Boolean()),
    ratelimitDefaults: Type.Optional(RateLimitDefaults),
    rotationPolicy: Type.Optional(RotationPolicySchema),
    revokeOnLeak: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const VerifyBody = Type.Object(
  {
    key: Type.String({ maxLength: 512 }),
    scopes: Type.Optional(Type.Array(ScopeString, { maxItems: 50 })),
    env: Type.Optional(Env),
    ip: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "The end client's address, for IP allowlists",
        // Kept as the key's last-used address and in usage events.
        ...IDENTIFIER,
      }),
    ),
    cost: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        description: 'What this request spends from rate limits and credits (default 1)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const VerifyResponse = Type.Object({
  valid: Type.Boolean(),
  code: Type.Unsafe<VerifyCode>({ type: 'string', enum: [...VERIFY_CODES] }),
  keyId: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  projectId: Type.Optional(Type.String()),
  env: Type.Optional(Type.String()),
  scopes: Type.Optional(Type.Array(Type.String())),
  ownerId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  meta: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  expiresAt: Type.Optional(NullableTimestamp),
  missingScopes: Type.Optional(Type.Array(Type.String())),
  ratelimits: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        subject: Type.Union([Type.Literal('key'), Type.Literal('owner')]),
        limit: Type.Integer(),
        windowSeconds: Type.Integer(),
        remaining: Type.Integer(),
        reset: Type.Integer({ description: 'Seconds until the limit is fully available again' }),
      }),
    ),
  ),
  credits: Type.Optional(Type.Object({ remaining: Type.Integer() })),
  retryAfter: Type.Optional(
    Type.Integer({ description: 'Seconds until the same request could pass' }),
  ),
});

export const OwnerSchema = Type.Object(
  {
    id: Type.String(),
    ratelimits: NullableRateLimits,
    credits: CreditsOut,
    budgets: Budgets,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    warnings: Type.Optional(BudgetWarnings),
  },
  { description: 'An owner with shared limits, credits and budgets' },
);

export const SetOwnerBody = Type.Object(
  {
    ratelimits: Type.Optional(NullableRateLimits),
    credits: Type.Optional(CreditsInputSchema),
    budgets: Type.Optional(Budgets),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const OwnerParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, ...IDENTIFIER }),
});

export const AuditEntrySchema = Type.Object({
  seq: Type.Integer(),
  at: Timestamp,
  actorId: Type.String(),
  actorDisplay: Type.String(),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  result: Type.String(),
  requestId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  hash: Type.String(),
});

export const ListAuditQuery = Type.Object(
  {
    actorId: Type.Optional(Type.String({ maxLength: 64 })),
    action: Type.Optional(Type.String({ maxLength: 64 })),
    targetId: Type.Optional(Type.String({ maxLength: 64 })),
    result: Type.Optional(
      Type.Union([Type.Literal('success'), Type.Literal('denied'), Type.Literal('failed')]),
    ),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);

export const AuditPage = Type.Object({
  data: Type.Array(AuditEntrySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

const UpstreamName = Type.String({ pattern: UPSTREAM_NAME_PATTERN.source, ...IDENTIFIER });
const TimeoutMs = Type.Integer({ minimum: 1, maximum: 3_600_000 });
const UpstreamRouteSchema = Type.Object(
  {
    method: Type.String({
      maxLength: 10,
      description: 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or `*`',
    }),
    path: Type.String({
      minLength: 1,
      maxLength: 512,
      ...IDENTIFIER,
      description: 'Below the base URL; `*` matches one segment, a final `**` the rest',
    }),
    scope: ScopeString,
  },
  { additionalProperties: false },
);
const PriceSchema = Type.Object(
  {
    input: Type.Number({ minimum: 0, maximum: 1_000_000 }),
    output: Type.Number({ minimum: 0, maximum: 1_000_000 }),
  },
  {
    additionalProperties: false,
    description: 'Currency units per million tokens (≤ 6 decimals)',
  },
);
const Prices = Type.Record(Type.String({ maxLength: 128 }), PriceSchema, {
  maxProperties: 500,
  // Model names: records drop the key schema, so the keys are checked here.
  propertyNames: { maxLength: 128, ...IDENTIFIER },
  description: 'Per-model prices that override the price table',
});
const UpstreamSecret = Type.Union(
  [
    Type.String({
      minLength: 1,
      maxLength: 4096,
      'x-keywarden-secret': true,
      description:
        'The provider secret, stored encrypted and never returned. Write-only: a new value rotates it',
    }),
    Type.Null(),
  ],
  { description: 'null: no secret (forward without credentials)' },
);
const UpstreamSettings = {
  baseUrl: Type.String({
    minLength: 1,
    maxLength: 2048,
    // A key in the path or host would be stored and shown as given (credentials and the
    // host policy are upstreams/validate.ts's).
    'x-keywarden-text': 'url',
    description: 'Absolute http(s) URL without credentials, query or fragment',
  }),
  secret: UpstreamSecret,
  authHeader: Type.String({
    minLength: 1,
    maxLength: 100,
    ...IDENTIFIER,
    description: 'Header that carries the secret (default authorization)',
  }),
  authScheme: Type.Union(
    [Type.String({ minLength: 1, maxLength: 100, ...IDENTIFIER }), Type.Null()],
    {
      description: 'Written before the secret (default Bearer); null: the secret alone',
    },
  ),
  environments: Type.Union([Type.Array(Env, { minItems: 1, maxItems: 20 }), Type.Null()], {
    description: 'Environments whose keys may use it; null: any',
  }),
  timeouts: Type.Object(
    {
      connectMs: Type.Optional(TimeoutMs),
      headersMs: Type.Optional(TimeoutMs),
      bodyMs: Type.Optional(TimeoutMs),
    },
    {
      additionalProperties: false,
      description: 'Defaults 5000 / 300000 / 300000 ms; fields not given keep their value',
    },
  ),
  routes: Type.Array(UpstreamRouteSchema, {
    maxItems: 200,
    description: 'Route → scope, first match wins (http upstreams)',
  }),
  prices: Prices,
};

export const UpstreamSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    type: Type.Union([Type.Literal('openai'), Type.Literal('http')]),
    baseUrl: Type.String(),
    hasSecret: Type.Boolean(),
    secretHint: Type.Union([Type.String(), Type.Null()], {
      description: '`…` and the last 4 characters of the secret (secrets of 12+ characters)',
    }),
    authHeader: Type.String(),
    authScheme: Type.Union([Type.String(), Type.Null()]),
    environments: Type.Union([Type.Array(Type.String()), Type.Null()]),
    timeouts: Type.Object({
      connectMs: Type.Integer(),
      headersMs: Type.Integer(),
      bodyMs: Type.Integer(),
    }),
    routes: Type.Array(
      Type.Object({ method: Type.String(), path: Type.String(), scope: Type.String() }),
    ),
    prices: Type.Record(
      Type.String(),
      Type.Object({ input: Type.Number(), output: Type.Number() }),
    ),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { description: 'A gateway upstream (never its secret)' },
);

export const CreateUpstreamBody = Type.Object(
  {
    name: UpstreamName,
    type: Type.Union([Type.Literal('openai'), Type.Literal('http')]),
    baseUrl: UpstreamSettings.baseUrl,
    secret: Type.Optional(UpstreamSettings.secret),
    authHeader: Type.Optional(UpstreamSettings.authHeader),
    authScheme: Type.Optional(UpstreamSettings.authScheme),
    environments: Type.Optional(UpstreamSettings.environments),
    timeouts: Type.Optional(UpstreamSettings.timeouts),
    routes: Type.Optional(UpstreamSettings.routes),
    prices: Type.Optional(UpstreamSettings.prices),
  },
  { additionalProperties: false },
);

export const UpdateUpstreamBody = Type.Object(
  {
    name: Type.Optional(UpstreamName),
    baseUrl: Type.Optional(UpstreamSettings.baseUrl),
    secret: Type.Optional(UpstreamSettings.secret),
    authHeader: Type.Optional(UpstreamSettings.authHeader),
    authScheme: Type.Optional(UpstreamSettings.authScheme),
    environments: Type.Optional(UpstreamSettings.environments),
    timeouts: Type.Optional(UpstreamSettings.timeouts),
    routes: Type.Optional(UpstreamSettings.routes),
    prices: Type.Optional(UpstreamSettings.prices),
    keepSecretOnOriginChange: Type.Optional(
      Type.Boolean({
        description:
          'With a new baseUrl on another origin (scheme, host or port) and no `secret`: keep the secret. Needs upstreams:admin; without it a new origin needs the secret again',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ErrorResponses = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
};
