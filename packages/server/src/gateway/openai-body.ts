import type { IncomingMessage } from 'node:http';
import { type FormData, Response } from 'undici';
import type { ErrorCode } from '../errors/index.ts';

/**
 * What an OpenAI request body says, read whatever content type the caller declared: the
 * allowlist, budgets and metering must not depend on a header the caller chooses. Every body
 * sent to an OpenAI upstream is understood or refused:
 *
 * - `json`: every endpoint but the ones below. The body is parsed as JSON whatever its declared
 *   type (`text/plain`, none, `text/json` …); what is not a JSON object is refused (415, or 400
 *   when it claimed to be JSON). The upstream receives the JSON the gateway read, re-written
 *   as `application/json`: no second reading (a duplicate `model`, a byte-order mark, an odd
 *   number) can make it run something else than what was checked.
 * - `form`: endpoints that take a file and name a model in a multipart form (audio
 *   transcriptions and translations, image edits and variations, videos). The form is parsed
 *   (undici's multipart parser, the one behind `Response.formData()`), its one `model` read,
 *   and the form the gateway read is forwarded, re-encoded. Sent as JSON instead (OpenAI takes
 *   JSON on some of them), it is read as JSON.
 * - `opaque`: uploads that carry no model (files, upload parts, container files). They are
 *   governed by scopes alone and streamed through untouched.
 */
export type BodyShape = 'json' | 'form' | 'opaque';

const FORM_ENDPOINTS = new Set([
  'audio/transcriptions',
  'audio/translations',
  'images/edits',
  'images/variations',
  'videos',
]);

/**
 * Creation endpoints that run a model: a key with a model allowlist must name an allowed one,
 * since the upstream would otherwise pick its default (which the allowlist may not allow).
 */
const MODEL_ENDPOINTS = new Set([
  'chat/completions',
  'completions',
  'embeddings',
  'responses',
  'moderations',
  'images/generations',
  'images/edits',
  'images/variations',
  'audio/speech',
  'audio/transcriptions',
  'audio/translations',
  'fine_tuning/jobs',
  'assistants',
  'videos',
]);

/** The path below the version: `['v1', 'chat', 'completions']` → `chat/completions`. */
function resourcePath(segments: readonly string[]): string[] {
  return segments[0] === 'v1' ? segments.slice(1) : [...segments];
}

export function openaiBodyShape(segments: readonly string[]): BodyShape {
  const rest = resourcePath(segments);
  if (rest[0] === 'files') return 'opaque';
  if (rest[0] === 'uploads' && rest[2] === 'parts') return 'opaque';
  if (rest[0] === 'containers' && rest[2] === 'files') return 'opaque';
  return FORM_ENDPOINTS.has(rest.join('/')) ? 'form' : 'json';
}

/** True where a request must name a model (a POST to a creation endpoint that runs one). */
export function namesModel(method: string, segments: readonly string[]): boolean {
  return method === 'POST' && MODEL_ENDPOINTS.has(resourcePath(segments).join('/'));
}

/**
 * Endpoints that run models the gateway cannot see: a batch runs the requests of an uploaded
 * file, a realtime session is configured over its own connection. A key with a model allowlist
 * may not start them (its scopes decide for every other key).
 */
export function runsUnseenModels(method: string, segments: readonly string[]): boolean {
  const rest = resourcePath(segments);
  return (
    (method === 'POST' && rest.length === 1 && rest[0] === 'batches') || rest[0] === 'realtime'
  );
}

export interface ReadBody {
  /** The bytes to forward, or null to stream the caller's body (opaque) or send none. */
  body: Buffer | null;
  /** The content type to forward with `body`. */
  contentType: string | null;
  /** The parsed JSON body (json shape), for metering and the stream-usage rewrite. */
  json: Record<string, unknown> | null;
  /** The form's fields (form shape). */
  form: FormData | null;
  model: string | null;
}

export interface BodyRefusal {
  refused: ErrorCode;
  detail: string;
  param?: string;
}

/**
 * Reads the body of a request that has one, for its shape. Bodies read are bounded by `limit`
 * bytes; an opaque body is not read here at all.
 */
export async function readOpenAIBody(
  raw: IncomingMessage,
  shape: BodyShape,
  limit: number,
): Promise<ReadBody | BodyRefusal> {
  if (shape === 'opaque')
    return { body: null, contentType: null, json: null, form: null, model: null };
  const encoding = headerText(raw.headers['content-encoding']).trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    raw.resume();
    return {
      refused: 'UNSUPPORTED_MEDIA_TYPE',
      detail: 'the gateway reads uncompressed bodies only',
    };
  }
  const bytes = await readBounded(raw, limit);
  if (bytes === null)
    return { refused: 'PAYLOAD_TOO_LARGE', detail: `the gateway reads at most ${limit} bytes` };
  if (bytes.length === 0)
    return { body: null, contentType: null, json: null, form: null, model: null };
  const declared = headerText(raw.headers['content-type']);
  if (shape === 'form' && /^\s*multipart\/form-data\b/i.test(declared))
    return readForm(bytes, declared);
  return readJson(bytes, declared);
}

function readJson(bytes: Buffer, declared: string): ReadBody | BodyRefusal {
  const claimsJson = /^\s*application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(declared);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'), keepNumberText);
  } catch {
    return claimsJson
      ? { refused: 'INVALID_JSON', detail: 'the body is not valid JSON' }
      : {
          refused: 'UNSUPPORTED_MEDIA_TYPE',
          detail: 'this endpoint takes a JSON body, and the body is not JSON',
        };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { refused: 'INVALID_JSON', detail: 'the body must be a JSON object' };
  const json = value as Record<string, unknown>;
  const model = json.model;
  if (model !== undefined && typeof model !== 'string')
    return { refused: 'VALIDATION_FAILED', detail: '"model" must be a string', param: 'model' };
  return {
    body: Buffer.from(JSON.stringify(json)),
    contentType: 'application/json',
    json,
    form: null,
    model: model ?? null,
  };
}

/**
 * JSON.parse turns `12345678901234567890` into a nearby double and `1e400` into Infinity (null
 * once written back). A number whose text would not survive the round trip is kept as its
 * own text, so the upstream receives the numbers the caller sent.
 */
/**
 * `JSON.rawJSON` and the reviver's `context.source` come together (V8 ≥ 11.4: Node 22, 24; not
 * yet in TypeScript's lib). On Node 20 there is no source: numbers are written back as parsed.
 */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function keepNumberText(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || context?.source === undefined || !rawJSON) return value;
  return String(value) === context.source ? value : rawJSON(context.source);
}

async function readForm(bytes: Buffer, declared: string): Promise<ReadBody | BodyRefusal> {
  let form: FormData;
  try {
    form = (await new Response(bytes, {
      headers: { 'content-type': declared },
    }).formData()) as FormData;
  } catch {
    return { refused: 'VALIDATION_FAILED', detail: 'the multipart form could not be read' };
  }
  const models = form.getAll('model');
  if (models.length > 1)
    return {
      refused: 'VALIDATION_FAILED',
      detail: 'the form names "model" more than once',
      param: 'model',
    };
  const model = models[0];
  if (model !== undefined && typeof model !== 'string')
    return { refused: 'VALIDATION_FAILED', detail: '"model" must be a text field', param: 'model' };
  // What the gateway read is what is forwarded: the form re-encoded, with a boundary of its own.
  const encoded = new Response(form as never);
  const body = Buffer.from(await encoded.arrayBuffer());
  return {
    body,
    contentType: encoded.headers.get('content-type'),
    json: null,
    form,
    model: model ?? null,
  };
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

async function readBounded(raw: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      raw.resume();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

export function isRefusal(read: ReadBody | BodyRefusal): read is BodyRefusal {
  return 'refused' in read;
}
