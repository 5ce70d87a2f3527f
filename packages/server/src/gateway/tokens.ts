/**
 * Token estimates, used where the upstream has not said: to reserve against TPM limits and
 * budgets before forwarding, and to meter a stream that was cut before its usage arrived
 * (a cut stream is estimated, never recorded as zero). The rule is the usual rough one for
 * English text, ~4 characters per token, plus OpenAI's per-message overhead; the reservation
 * adds the output the request allows, so it errs on the high side and `settle` corrects it.
 */

const CHARS_PER_TOKEN = 4;
const PER_MESSAGE = 4;
const PER_REQUEST = 3;

export function tokensForText(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** Characters of the text an OpenAI request sends to the model. */
function promptChars(body: Record<string, unknown>): { chars: number; messages: number } {
  let chars = 0;
  let messages = 0;
  const add = (value: unknown): void => {
    if (typeof value === 'string') chars += value.length;
    else if (Array.isArray(value)) for (const item of value) add(item);
    else if (value && typeof value === 'object') {
      const part = value as Record<string, unknown>;
      // Message parts ({ type: 'text', text }), responses items ({ content }), tool calls.
      add(part.text);
      add(part.content);
      add(part.input_text);
      if (typeof part.arguments === 'string') chars += part.arguments.length;
    }
  };
  if (Array.isArray(body.messages)) {
    messages = body.messages.length;
    for (const message of body.messages) {
      if (!message || typeof message !== 'object') continue;
      const m = message as Record<string, unknown>;
      add(m.content);
      if (typeof m.name === 'string') chars += m.name.length;
      if (Array.isArray(m.tool_calls)) for (const call of m.tool_calls) add(call?.function);
    }
  }
  add(body.prompt);
  add(body.input);
  add(body.instructions);
  if (Array.isArray(body.tools)) chars += JSON.stringify(body.tools).length;
  return { chars, messages };
}

export function estimatePromptTokens(body: Record<string, unknown>): number {
  const { chars, messages } = promptChars(body);
  return tokensForText(chars) + messages * PER_MESSAGE + PER_REQUEST;
}

/** The most output the request allows (max tokens × choices), or the configured default. */
export function maxOutputTokens(
  body: Record<string, unknown>,
  endpoint: string,
  fallback: number,
): number {
  if (endpoint === 'embeddings' || endpoint === 'moderations') return 0;
  const limit = [body.max_completion_tokens, body.max_tokens, body.max_output_tokens].find(
    (value) => Number.isSafeInteger(value) && (value as number) > 0,
  ) as number | undefined;
  const choices = Number.isSafeInteger(body.n) && (body.n as number) > 1 ? (body.n as number) : 1;
  return (limit ?? fallback) * choices;
}
