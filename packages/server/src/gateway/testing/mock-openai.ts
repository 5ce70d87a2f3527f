import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A stand-in for api.openai.com, for the gateway's tests and benchmark. It answers the way
 * OpenAI does (JSON shapes, SSE framing, error bodies, headers) closely enough for the official
 * `openai` SDK to parse it, with a fixed reply and deterministic token counts so usage can be
 * asserted exactly. Trigger models (`mock-error-429`, `mock-slow`, `mock-cut` …) simulate the
 * upstream failures the gateway must survive. See README.md beside this file.
 *
 * It must stay a test double: no keywarden imports, nothing here is used in production.
 */

export interface MockOpenAIOptions {
  /** The only API key the mock accepts (Authorization: Bearer <it>); others get 401 invalid_api_key. */
  apiKey: string;
  /** Delay between streamed chunks in ms (default 0); the `mock-slow` model uses 50 unless set. */
  chunkDelayMs?: number;
}

export interface ReceivedRequest {
  method: string;
  /** The path including the query string. */
  path: string;
  /** As node gives them (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body text. */
  body: string;
  /** The parsed body if it is JSON, else null. */
  json: unknown | null;
  /** True once the client (the gateway) went away before the mock finished answering. */
  aborted: boolean;
}

export interface MockOpenAI {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /**
   * Resolves with the oldest request whose connection closed before its answer finished and
   * that no earlier call returned; waits for the next one if there is none (abort tests).
   */
  nextAbort(): Promise<ReceivedRequest>;
  /** Clears `requests` and the aborts not yet taken by `nextAbort()`. */
  reset(): void;
  close(): Promise<void>;
}

/** The assistant text every generation endpoint answers with. */
export const MOCK_REPLY =
  'Hello! This is the mock OpenAI assistant, answering the same way every time.';

/** Trigger models: requests naming them get the simulated behaviour instead of an answer. */
export const MOCK_MODELS = {
  error429: 'mock-error-429',
  error500: 'mock-error-500',
  error400: 'mock-error-400',
  slow: 'mock-slow',
  cut: 'mock-cut',
} as const;

const SLOW_CHUNK_DELAY_MS = 50;
/** A non-streamed `mock-slow` answer waits this many chunk delays (400 ms by default). */
const SLOW_NON_STREAM_STEPS = 8;
/** A `mock-cut` stream is destroyed just before its fourth content delta. */
const CUT_AFTER_CONTENT_DELTAS = 3;
const EMBEDDING_DIMENSIONS = 8;
const MAX_EMBEDDING_DIMENSIONS = 4096;
const SYSTEM_FINGERPRINT = 'fp_7c5e3d1a90';

const MODELS: ReadonlyArray<{ id: string; created: number; owned_by: string }> = [
  { id: 'gpt-4o', created: 1715367049, owned_by: 'system' },
  { id: 'gpt-4o-mini', created: 1721172741, owned_by: 'system' },
  { id: 'text-embedding-3-small', created: 1705948997, owned_by: 'system' },
  ...Object.values(MOCK_MODELS).map((id) => ({
    id,
    created: 1735689600,
    owned_by: 'keywarden-mock',
  })),
];

// ---------------------------------------------------------------------------------------------
// Token counting: a deterministic stand-in for a tokenizer.

/** Tokens added for each chat message / Responses input item (role, separators). */
const MESSAGE_OVERHEAD_TOKENS = 4;

function textTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * The prompt tokens the mock reports for a request body:
 * - text counts ceil(UTF-16 length / 4);
 * - `messages` (chat): each message counts 4 + its text (string `content`, the `text` of
 *   content parts, tool-call `arguments`, all concatenated);
 * - `prompt` (completions) and `input` (embeddings, responses): a string counts its text, a
 *   token array counts one per token, an array of those sums them, and a Responses input item
 *   (an object) counts like a chat message (its `content`, `output`, `arguments` text);
 * - `instructions` (responses) counts like one message.
 */
export function mockPromptTokens(body: unknown): number {
  if (!isRecord(body)) return 0;
  let tokens = 0;
  if (Array.isArray(body.messages)) tokens += inputTokens(body.messages);
  if (body.prompt !== undefined) tokens += inputTokens(body.prompt);
  if (body.input !== undefined) tokens += inputTokens(body.input);
  if (typeof body.instructions === 'string') {
    tokens += MESSAGE_OVERHEAD_TOKENS + textTokens(body.instructions);
  }
  return tokens;
}

/** The completion tokens the mock reports for produced text: ceil(UTF-16 length / 4). */
export function mockCompletionTokens(text: string): number {
  return textTokens(text);
}

function inputTokens(input: unknown): number {
  if (typeof input === 'string') return textTokens(input);
  if (!Array.isArray(input)) return 0;
  let tokens = 0;
  for (const item of input) {
    if (typeof item === 'string') tokens += textTokens(item);
    else if (typeof item === 'number') tokens += 1;
    else if (Array.isArray(item)) tokens += item.length;
    else if (isRecord(item)) tokens += MESSAGE_OVERHEAD_TOKENS + textTokens(messageText(item));
  }
  return tokens;
}

function messageText(message: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof message.content === 'string') parts.push(message.content);
  else if (Array.isArray(message.content)) {
    for (const part of message.content) {
      if (isRecord(part) && typeof part.text === 'string') parts.push(part.text);
    }
  }
  if (typeof message.output === 'string') parts.push(message.output);
  if (typeof message.arguments === 'string') parts.push(message.arguments);
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (
        isRecord(call) &&
        isRecord(call.function) &&
        typeof call.function.arguments === 'string'
      ) {
        parts.push(call.function.arguments);
      }
    }
  }
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Errors, in OpenAI's shape.

interface OpenAIError {
  status: number;
  message: string;
  type: string;
  param: string | null;
  code: string | null;
  headers?: Record<string, string>;
}

const errors = {
  missingApiKey: (): OpenAIError => ({
    status: 401,
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  }),
  incorrectApiKey: (given: string): OpenAIError => ({
    status: 401,
    message: `Incorrect API key provided: ${maskKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  }),
  invalidUrl: (method: string, pathname: string): OpenAIError => ({
    status: 404,
    message: `Invalid URL (${method} ${pathname})`,
    type: 'invalid_request_error',
    param: null,
    code: null,
  }),
  invalidJson: (): OpenAIError => ({
    status: 400,
    message:
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    type: 'invalid_request_error',
    param: null,
    code: null,
  }),
  missingModel: (): OpenAIError => ({
    status: 400,
    message: 'you must provide a model parameter',
    type: 'invalid_request_error',
    param: null,
    code: null,
  }),
  missingParameter: (param: string): OpenAIError => ({
    status: 400,
    message: `Missing required parameter: '${param}'.`,
    type: 'invalid_request_error',
    param,
    code: 'missing_required_parameter',
  }),
  invalidParameter: (param: string, message: string): OpenAIError => ({
    status: 400,
    message,
    type: 'invalid_request_error',
    param,
    code: 'invalid_value',
  }),
  modelNotFound: (model: string): OpenAIError => ({
    status: 404,
    message: `The model '${model}' does not exist or you do not have access to it.`,
    type: 'invalid_request_error',
    param: 'model',
    code: 'model_not_found',
  }),
  rateLimited: (model: string): OpenAIError => ({
    status: 429,
    message: `Rate limit reached for ${model} in organization org-mock on requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in 10ms. Visit https://platform.openai.com/account/rate-limits to learn more.`,
    type: 'requests',
    param: null,
    code: 'rate_limit_exceeded',
    headers: {
      'retry-after-ms': '10',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '10ms',
    },
  }),
  serverError: (): OpenAIError => ({
    status: 500,
    message:
      'The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through our help center at help.openai.com if the error persists.',
    type: 'server_error',
    param: null,
    code: 'server_error',
  }),
  badTemperature: (): OpenAIError => ({
    status: 400,
    message:
      "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
    type: 'invalid_request_error',
    param: 'temperature',
    code: 'decimal_above_max_value',
  }),
};

/** OpenAI shows the start and end of a wrong key, never the whole of it. */
function maskKey(key: string): string {
  if (key.length <= 12) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`;
}

// ---------------------------------------------------------------------------------------------
// The server.

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  record: ReceivedRequest;
  startedAt: number;
  /** Set when the mock itself destroys the socket (`mock-cut`): not an abort by the client. */
  cutByMock: boolean;
}

interface MockContext {
  apiKey: Buffer;
  chunkDelayMs: number | undefined;
}

export async function startMockOpenAI(options: MockOpenAIOptions): Promise<MockOpenAI> {
  const context: MockContext = {
    apiKey: Buffer.from(options.apiKey),
    chunkDelayMs: options.chunkDelayMs,
  };
  const requests: ReceivedRequest[] = [];
  let untakenAborts: ReceivedRequest[] = [];
  const abortWaiters: Array<(request: ReceivedRequest) => void> = [];
  let closing = false;

  const server = createServer((req, res) => {
    const exchange: Exchange = {
      req,
      res,
      startedAt: performance.now(),
      cutByMock: false,
      record: {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: { ...req.headers },
        body: '',
        json: null,
        aborted: false,
      },
    };
    const bodyChunks: Buffer[] = [];
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      requests.push(exchange.record);
    };
    res.on('close', () => {
      if (res.writableFinished || exchange.cutByMock || closing) return;
      exchange.record.aborted = true;
      if (!recorded) exchange.record.body = Buffer.concat(bodyChunks).toString('utf8');
      record();
      const waiter = abortWaiters.shift();
      if (waiter) waiter(exchange.record);
      else untakenAborts.push(exchange.record);
    });
    readBody(req, bodyChunks).then((body) => {
      if (body === null) return; // the client went away mid-body; the close handler records it
      exchange.record.body = body;
      exchange.record.json = parseJson(body);
      record();
      answer(exchange, context).catch(() => {
        if (!res.headersSent) sendError(exchange, errors.serverError());
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    nextAbort() {
      const taken = untakenAborts.shift();
      if (taken) return Promise.resolve(taken);
      return new Promise((resolve) => abortWaiters.push(resolve));
    },
    reset() {
      requests.length = 0;
      untakenAborts = [];
    },
    close() {
      closing = true;
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** Resolves with the body text, or null if the client went away first (`chunks` keeps the part). */
function readBody(req: IncomingMessage, chunks: Buffer[]): Promise<string | null> {
  return new Promise((resolve) => {
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
    req.on('close', () => {
      if (!req.complete) resolve(null);
    });
  });
}

function parseJson(text: string): unknown | null {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

type EndpointHandler = (
  exchange: Exchange,
  body: Record<string, unknown>,
  model: string,
  chunkDelayMs: number,
) => Promise<void>;

const GENERATION_ENDPOINTS: Record<string, EndpointHandler> = {
  '/v1/chat/completions': answerChatCompletion,
  '/v1/completions': answerCompletion,
  '/v1/embeddings': answerEmbeddings,
  '/v1/responses': answerResponse,
};

async function answer(exchange: Exchange, context: MockContext): Promise<void> {
  const { req, record } = exchange;
  const method = req.method ?? 'GET';
  const pathname = new URL(req.url ?? '/', 'http://mock').pathname;
  const generation = GENERATION_ENDPOINTS[pathname];
  const isModels = pathname === '/v1/models' || pathname.startsWith('/v1/models/');
  if (!((method === 'POST' && generation) || (method === 'GET' && isModels))) {
    return sendError(exchange, errors.invalidUrl(method, pathname));
  }

  const authError = checkApiKey(req.headers.authorization, context.apiKey);
  if (authError) return sendError(exchange, authError);

  if (!generation) return answerModels(exchange, pathname);

  let body: unknown = {};
  if (record.body.trim() !== '') {
    if (record.json === null) return sendError(exchange, errors.invalidJson());
    body = record.json;
  }
  if (!isRecord(body)) return sendError(exchange, errors.invalidJson());
  const model = body.model;
  if (typeof model !== 'string' || model === '') return sendError(exchange, errors.missingModel());

  if (model === MOCK_MODELS.error429) return sendError(exchange, errors.rateLimited(model));
  if (model === MOCK_MODELS.error500) return sendError(exchange, errors.serverError());
  if (model === MOCK_MODELS.error400) return sendError(exchange, errors.badTemperature());
  const chunkDelayMs =
    context.chunkDelayMs ?? (model === MOCK_MODELS.slow ? SLOW_CHUNK_DELAY_MS : 0);
  return generation(exchange, body, model, chunkDelayMs);
}

function checkApiKey(authorization: string | undefined, apiKey: Buffer): OpenAIError | null {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  const given = match?.[1]?.trim();
  if (!given) return errors.missingApiKey();
  const givenBytes = Buffer.from(given);
  const same = givenBytes.length === apiKey.length && timingSafeEqual(givenBytes, apiKey);
  return same ? null : errors.incorrectApiKey(given);
}

// ---------------------------------------------------------------------------------------------
// Responses on the wire.

function openAIHeaders(exchange: Exchange, contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'x-request-id': `req_${randomBytes(16).toString('hex')}`,
    'openai-version': '2020-10-01',
    'openai-processing-ms': String(Math.max(1, Math.round(performance.now() - exchange.startedAt))),
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-remaining-requests': '9999',
    'x-ratelimit-reset-requests': '6ms',
    'x-ratelimit-limit-tokens': '30000000',
    'x-ratelimit-remaining-tokens': '29999000',
    'x-ratelimit-reset-tokens': '2ms',
  };
}

function sendJson(
  exchange: Exchange,
  status: number,
  payload: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const text = JSON.stringify(payload);
  exchange.res.writeHead(status, {
    ...openAIHeaders(exchange, 'application/json'),
    ...extraHeaders,
    'content-length': String(Buffer.byteLength(text)),
  });
  exchange.res.end(text);
}

function sendError(exchange: Exchange, error: OpenAIError): void {
  const { status, headers, ...body } = error;
  sendJson(exchange, status, { error: body }, headers);
}

/** Answers a non-streamed request: `mock-slow` waits first, `mock-cut` dies after the headers. */
async function sendAnswer(
  exchange: Exchange,
  model: string,
  chunkDelayMs: number,
  payload: unknown,
): Promise<void> {
  if (model === MOCK_MODELS.slow) {
    await sleep(chunkDelayMs * SLOW_NON_STREAM_STEPS);
    if (exchange.res.destroyed) return;
  }
  if (model !== MOCK_MODELS.cut) return sendJson(exchange, 200, payload);
  const text = JSON.stringify(payload);
  const { res } = exchange;
  res.writeHead(200, {
    ...openAIHeaders(exchange, 'application/json'),
    'content-length': String(Buffer.byteLength(text)),
  });
  await writeFlushed(res, text.slice(0, Math.floor(text.length / 2)));
  cutConnection(exchange);
}

/**
 * Streams SSE frames, waiting `chunkDelayMs` between them. With `cutBefore`, the socket is
 * destroyed instead of sending that frame: no terminating chunk, so the client sees a cut.
 */
async function sendStream(
  exchange: Exchange,
  frames: string[],
  chunkDelayMs: number,
  cutBefore: number | null,
): Promise<void> {
  const { res } = exchange;
  res.writeHead(200, {
    ...openAIHeaders(exchange, 'text/event-stream; charset=utf-8'),
    'cache-control': 'no-cache, must-revalidate',
  });
  let lastWrite: Promise<void> = Promise.resolve();
  for (const [index, frame] of frames.entries()) {
    if (index > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs);
    if (res.destroyed) return;
    if (index === cutBefore) {
      await lastWrite;
      return cutConnection(exchange);
    }
    lastWrite = writeFlushed(res, frame);
  }
  res.end();
}

function writeFlushed(res: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve) => res.write(text, () => resolve()));
}

function cutConnection(exchange: Exchange): void {
  exchange.cutByMock = true;
  exchange.res.destroy();
}

function dataFrame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

const DONE_FRAME = 'data: [DONE]\n\n';

// ---------------------------------------------------------------------------------------------
// GET /v1/models, GET /v1/models/{id}

function answerModels(exchange: Exchange, pathname: string): void {
  const models = MODELS.map((model) => ({ ...model, object: 'model' }));
  if (pathname === '/v1/models') {
    sendJson(exchange, 200, { object: 'list', data: models });
    return;
  }
  const id = decodePathSegment(pathname.slice('/v1/models/'.length));
  const model = models.find((candidate) => candidate.id === id);
  if (model) sendJson(exchange, 200, model);
  else sendError(exchange, errors.modelNotFound(id));
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---------------------------------------------------------------------------------------------
// POST /v1/chat/completions

interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

async function answerChatCompletion(
  exchange: Exchange,
  body: Record<string, unknown>,
  model: string,
  chunkDelayMs: number,
): Promise<void> {
  const messages = body.messages;
  if (messages === undefined) return sendError(exchange, errors.missingParameter('messages'));
  if (!Array.isArray(messages) || messages.length === 0) {
    return sendError(
      exchange,
      errors.invalidParameter(
        'messages',
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      ),
    );
  }
  const id = `chatcmpl-${randomId(29)}`;
  const created = nowSeconds();
  const toolCall = chosenToolCall(body);
  const promptTokens = mockPromptTokens(body);
  const completionTokens = toolCall
    ? mockCompletionTokens(toolCall.name + toolCall.arguments)
    : mockCompletionTokens(MOCK_REPLY);
  const usage = chatUsage(promptTokens, completionTokens);
  const finishReason = toolCall ? 'tool_calls' : 'stop';
  const base = (object: string) => ({
    id,
    object,
    created,
    model,
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  });

  if (body.stream !== true) {
    const message = toolCall
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: toolCall.id,
              type: 'function',
              function: { name: toolCall.name, arguments: toolCall.arguments },
            },
          ],
          refusal: null,
          annotations: [],
        }
      : { role: 'assistant', content: MOCK_REPLY, refusal: null, annotations: [] };
    return sendAnswer(exchange, model, chunkDelayMs, {
      ...base('chat.completion'),
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage,
    });
  }

  const includeUsage = wantsStreamUsage(body);
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    ...base('chat.completion.chunk'),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const frames: string[] = [];
  if (toolCall) {
    frames.push(
      dataFrame(
        chunk(
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                index: 0,
                id: toolCall.id,
                type: 'function',
                function: { name: toolCall.name, arguments: '' },
              },
            ],
            refusal: null,
          },
          null,
        ),
      ),
    );
    for (const fragment of splitEvery(toolCall.arguments, 8)) {
      frames.push(
        dataFrame(chunk({ tool_calls: [{ index: 0, function: { arguments: fragment } }] }, null)),
      );
    }
  } else {
    frames.push(dataFrame(chunk({ role: 'assistant', content: '', refusal: null }, null)));
    for (const piece of replyPieces()) frames.push(dataFrame(chunk({ content: piece }, null)));
  }
  frames.push(dataFrame(chunk({}, finishReason)));
  if (includeUsage) {
    const { usage: _null, ...withoutUsage } = chunk({}, null);
    frames.push(dataFrame({ ...withoutUsage, choices: [], usage }));
  }
  frames.push(DONE_FRAME);
  const cutBefore = model === MOCK_MODELS.cut ? 1 + CUT_AFTER_CONTENT_DELTAS : null;
  return sendStream(exchange, frames, chunkDelayMs, cutBefore);
}

function chatUsage(promptTokens: number, completionTokens: number) {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** The function the model "decides" to call: the forced one, else the first; none if 'none'. */
function chosenToolCall(body: Record<string, unknown>): ToolCall | null {
  if (!Array.isArray(body.tools) || body.tool_choice === 'none') return null;
  const functions = body.tools
    .map((tool) => (isRecord(tool) && isRecord(tool.function) ? tool.function : null))
    .filter((fn): fn is Record<string, unknown> => fn !== null && typeof fn.name === 'string');
  const forced =
    isRecord(body.tool_choice) && isRecord(body.tool_choice.function)
      ? body.tool_choice.function.name
      : undefined;
  const fn = functions.find((candidate) => candidate.name === forced) ?? functions[0];
  if (!fn) return null;
  return {
    id: `call_${randomId(24)}`,
    name: fn.name as string,
    arguments: mockToolArguments(fn.parameters),
  };
}

/** Arguments that satisfy a simple JSON schema: every top-level property gets a typed value. */
function mockToolArguments(parameters: unknown): string {
  const args: Record<string, unknown> = {};
  if (isRecord(parameters) && isRecord(parameters.properties)) {
    for (const [name, schema] of Object.entries(parameters.properties)) {
      args[name] = mockValue(schema);
    }
  }
  return JSON.stringify(args);
}

function mockValue(schema: unknown): unknown {
  if (!isRecord(schema)) return 'mock';
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  switch (schema.type) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    case 'null':
      return null;
    default:
      return 'mock';
  }
}

function wantsStreamUsage(body: Record<string, unknown>): boolean {
  return isRecord(body.stream_options) && body.stream_options.include_usage === true;
}

// ---------------------------------------------------------------------------------------------
// POST /v1/completions (legacy)

async function answerCompletion(
  exchange: Exchange,
  body: Record<string, unknown>,
  model: string,
  chunkDelayMs: number,
): Promise<void> {
  const promptTokens = mockPromptTokens(body);
  const completionTokens = mockCompletionTokens(MOCK_REPLY);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  const base = {
    id: `cmpl-${randomId(29)}`,
    object: 'text_completion',
    created: nowSeconds(),
    model,
  };
  const choice = (text: string, finish: string | null) => ({
    text,
    index: 0,
    logprobs: null,
    finish_reason: finish,
  });

  if (body.stream !== true) {
    return sendAnswer(exchange, model, chunkDelayMs, {
      ...base,
      choices: [choice(MOCK_REPLY, 'stop')],
      usage,
    });
  }
  const includeUsage = wantsStreamUsage(body);
  const chunk = (text: string, finish: string | null) => ({
    ...base,
    choices: [choice(text, finish)],
    ...(includeUsage ? { usage: null } : {}),
  });
  const frames = replyPieces().map((piece) => dataFrame(chunk(piece, null)));
  frames.push(dataFrame(chunk('', 'stop')));
  if (includeUsage) frames.push(dataFrame({ ...base, choices: [], usage }));
  frames.push(DONE_FRAME);
  const cutBefore = model === MOCK_MODELS.cut ? CUT_AFTER_CONTENT_DELTAS : null;
  return sendStream(exchange, frames, chunkDelayMs, cutBefore);
}

// ---------------------------------------------------------------------------------------------
// POST /v1/embeddings

async function answerEmbeddings(
  exchange: Exchange,
  body: Record<string, unknown>,
  model: string,
  chunkDelayMs: number,
): Promise<void> {
  if (body.input === undefined) return sendError(exchange, errors.missingParameter('input'));
  const inputs = embeddingInputs(body.input);
  if (!inputs) {
    return sendError(
      exchange,
      errors.invalidParameter(
        'input',
        "Invalid 'input': expected a string, an array of strings, an array of tokens or an array of token arrays.",
      ),
    );
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return sendError(
      exchange,
      errors.invalidParameter(
        'encoding_format',
        `Invalid value for 'encoding_format': expected one of 'float' or 'base64', but got '${String(format)}' instead.`,
      ),
    );
  }
  const dimensions = body.dimensions ?? EMBEDDING_DIMENSIONS;
  if (
    typeof dimensions !== 'number' ||
    !Number.isInteger(dimensions) ||
    dimensions < 1 ||
    dimensions > MAX_EMBEDDING_DIMENSIONS
  ) {
    return sendError(
      exchange,
      errors.invalidParameter('dimensions', "Invalid 'dimensions': expected a positive integer."),
    );
  }
  const promptTokens = mockPromptTokens(body);
  return sendAnswer(exchange, model, chunkDelayMs, {
    object: 'list',
    data: inputs.map((input, index) => {
      const vector = mockEmbedding(JSON.stringify(input), dimensions);
      return {
        object: 'embedding',
        index,
        embedding: format === 'base64' ? float32Base64(vector) : vector,
      };
    }),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}

/** The separate inputs of an embeddings request, or null if `input` has no valid shape. */
function embeddingInputs(input: unknown): Array<string | number[]> | null {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every((item) => typeof item === 'number')) return [input as number[]];
  const isTokens = (item: unknown) =>
    Array.isArray(item) && item.length > 0 && item.every((token) => typeof token === 'number');
  if (input.every((item) => typeof item === 'string' || isTokens(item))) {
    return input as Array<string | number[]>;
  }
  return null;
}

/**
 * A vector derived from the input's hash. Each value is (byte - 128) / 128, exact in float32,
 * so the float and base64 encodings decode to the same numbers.
 */
function mockEmbedding(seed: string, dimensions: number): number[] {
  const vector: number[] = [];
  for (let block = 0; vector.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${seed}`).digest();
    for (const byte of digest) {
      if (vector.length === dimensions) break;
      vector.push((byte - 128) / 128);
    }
  }
  return vector;
}

/** As OpenAI's `encoding_format: 'base64'`: the little-endian float32 bytes, base64-encoded. */
function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [index, value] of vector.entries()) bytes.writeFloatLE(value, index * 4);
  return bytes.toString('base64');
}

// ---------------------------------------------------------------------------------------------
// POST /v1/responses

async function answerResponse(
  exchange: Exchange,
  body: Record<string, unknown>,
  model: string,
  chunkDelayMs: number,
): Promise<void> {
  const inputTokensCount = mockPromptTokens(body);
  const outputTokensCount = mockCompletionTokens(MOCK_REPLY);
  const responseId = `resp_${randomBytes(24).toString('hex')}`;
  const itemId = `msg_${randomBytes(24).toString('hex')}`;
  const createdAt = nowSeconds();
  const outputText = (text: string) => ({
    type: 'output_text',
    annotations: [],
    logprobs: [],
    text,
  });
  const messageItem = (status: 'in_progress' | 'completed', text: string | null) => ({
    id: itemId,
    type: 'message',
    status,
    content: text === null ? [] : [outputText(text)],
    role: 'assistant',
  });
  const response = (status: 'in_progress' | 'completed') => ({
    id: responseId,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    completed_at: status === 'completed' ? nowSeconds() : null,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output: status === 'completed' ? [messageItem('completed', MOCK_REPLY)] : [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage:
      status === 'completed'
        ? {
            input_tokens: inputTokensCount,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: outputTokensCount,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: inputTokensCount + outputTokensCount,
          }
        : null,
    user: null,
    metadata: body.metadata ?? {},
  });

  if (body.stream !== true) {
    return sendAnswer(exchange, model, chunkDelayMs, response('completed'));
  }
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  const frames = [
    event('response.created', { response: response('in_progress') }),
    event('response.in_progress', { response: response('in_progress') }),
    event('response.output_item.added', {
      output_index: 0,
      item: messageItem('in_progress', null),
    }),
    event('response.content_part.added', { ...at, part: outputText('') }),
    ...replyPieces().map((delta) =>
      event('response.output_text.delta', { ...at, delta, logprobs: [] }),
    ),
    event('response.output_text.done', { ...at, text: MOCK_REPLY, logprobs: [] }),
    event('response.content_part.done', { ...at, part: outputText(MOCK_REPLY) }),
    event('response.output_item.done', {
      output_index: 0,
      item: messageItem('completed', MOCK_REPLY),
    }),
    event('response.completed', { response: response('completed') }),
  ];
  const cutBefore = model === MOCK_MODELS.cut ? 4 + CUT_AFTER_CONTENT_DELTAS : null;
  return sendStream(exchange, frames, chunkDelayMs, cutBefore);
}

// ---------------------------------------------------------------------------------------------
// Small pieces.

/** MOCK_REPLY in deltas of three words, as a model streams it. */
function replyPieces(): string[] {
  const words = MOCK_REPLY.split(/(?<= )/);
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += 3) pieces.push(words.slice(i, i + 3).join(''));
  return pieces;
}

function splitEvery(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomId(length: number): string {
  let id = '';
  for (const byte of randomBytes(length)) id += ID_ALPHABET.charAt(byte % ID_ALPHABET.length);
  return id;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
