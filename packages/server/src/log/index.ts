import {
  redactHeaderValue,
  redactSecrets,
  redactUrl,
  SENSITIVE_HEADER_NAMES,
} from '@keywarden/core';
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * The one logger. Three layers keep keys out of log lines:
 * 1. pino's path redaction removes credential headers and known secret fields wholesale;
 * 2. the request serializer redacts the URL (keys in `api_key=` query values);
 * 3. every string argument and error message passes through core's `redactSecrets`, which
 *    catches a key wherever else it turns up (a message, an error, a stray field).
 */
export const REDACTED_PATHS = [
  ...SENSITIVE_HEADER_NAMES.map((h) => `req.headers["${h}"]`),
  ...SENSITIVE_HEADER_NAMES.map((h) => `headers["${h}"]`),
  'key',
  'plaintext',
  'secret',
  '*.key',
  '*.plaintext',
  '*.secret',
  'body.key',
  'req.body.key',
];

interface RequestLike {
  method?: string;
  url?: string;
  ip?: string;
  /** The address captured when the request arrived (http/client-ip.ts). */
  clientIp?: string | null;
  id?: string;
  headers?: Record<string, string | string[] | undefined>;
}

function serializeRequest(req: RequestLike) {
  return {
    id: req.id,
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url),
    ip: addressOf(req),
    userAgent: req.headers?.['user-agent']
      ? redactHeaderValue('user-agent', String(req.headers['user-agent']))
      : undefined,
  };
}

/**
 * The captured address where there is one: a request is logged after its answer, when reading
 * Fastify's `ip` again may throw (a detached socket behind trusted proxies). Never throws.
 */
function addressOf(req: RequestLike): string | undefined {
  if (req.clientIp) return req.clientIp;
  try {
    return req.ip;
  } catch {
    return undefined;
  }
}

function serializeError(err: unknown) {
  const base = pino.stdSerializers.err(err as Error);
  return {
    ...base,
    message: redactSecrets(String(base.message ?? '')),
    stack: base.stack ? redactSecrets(base.stack) : undefined,
  };
}

function redactArgument(arg: unknown): unknown {
  return typeof arg === 'string' ? redactSecrets(arg) : arg;
}

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      serializers: { req: serializeRequest, err: serializeError, error: serializeError },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map(redactArgument) as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}

export type { Logger } from 'pino';
