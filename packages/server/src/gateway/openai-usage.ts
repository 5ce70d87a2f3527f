import { parseSseEvent } from './sse.ts';

/**
 * Reading token usage from OpenAI's answers: the `usage` object of a JSON response (chat,
 * completions and embeddings say prompt/completion tokens, responses say input/output), and
 * the same from a stream — the extra usage chunk that `stream_options.include_usage` adds to
 * chat and completions streams, or `response.completed` of a responses stream.
 */
export interface TokenUsage {
  input: number;
  output: number;
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

export function usageFrom(usage: unknown): TokenUsage | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as Record<string, unknown>;
  const prompt = count(u.prompt_tokens);
  if (prompt !== null) return { input: prompt, output: count(u.completion_tokens) ?? 0 };
  const input = count(u.input_tokens);
  if (input !== null) return { input, output: count(u.output_tokens) ?? 0 };
  return null;
}

export function usageFromResponse(json: unknown): TokenUsage | null {
  if (!json || typeof json !== 'object') return null;
  return usageFrom((json as { usage?: unknown }).usage);
}

/**
 * Watches an OpenAI stream event by event: records the usage when it comes, counts the text
 * the model produced (to estimate a cut stream), and — when the gateway asked for usage on
 * the client's behalf (`stripUsage`) — removes what the client did not ask for: the usage-only
 * chunk and the `"usage": null` that include_usage adds to every other chunk. Events it does
 * not change are passed on byte for byte.
 */
export class OpenAIStreamMeter {
  usage: TokenUsage | null = null;
  /** Characters of generated text and tool-call arguments seen so far. */
  outputChars = 0;
  readonly #stripUsage: boolean;

  constructor(options: { stripUsage: boolean }) {
    this.#stripUsage = options.stripUsage;
  }

  /** The text to forward for one event block ('' drops it). */
  event(block: string): string {
    const { event, data } = parseSseEvent(block);
    if (data === '' || data === '[DONE]') return `${block}\n\n`;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(data);
    } catch {
      return `${block}\n\n`;
    }
    if (!json || typeof json !== 'object') return `${block}\n\n`;
    const type = typeof json.type === 'string' ? json.type : event;
    if (type?.startsWith('response.')) {
      this.#responsesEvent(type, json);
      return `${block}\n\n`;
    }
    return this.#chunk(block, json);
  }

  #responsesEvent(type: string, json: Record<string, unknown>): void {
    if (type.endsWith('.delta') && typeof json.delta === 'string')
      this.outputChars += json.delta.length;
    if (
      type === 'response.completed' ||
      type === 'response.incomplete' ||
      type === 'response.failed'
    ) {
      const usage = usageFrom((json.response as { usage?: unknown } | undefined)?.usage);
      if (usage) this.usage = usage;
    }
  }

  #chunk(block: string, json: Record<string, unknown>): string {
    const usage = usageFrom(json.usage);
    if (usage) this.usage = usage;
    const choices = Array.isArray(json.choices) ? json.choices : [];
    for (const choice of choices) this.#countChoice(choice);
    if (!this.#stripUsage || !('usage' in json)) return `${block}\n\n`;
    // The usage-only chunk exists because the gateway asked for it: the client never sees it.
    if (choices.length === 0 && usage) return '';
    const { usage: _dropped, ...rest } = json;
    return `data: ${JSON.stringify(rest)}\n\n`;
  }

  #countChoice(choice: unknown): void {
    if (!choice || typeof choice !== 'object') return;
    const c = choice as { text?: unknown; delta?: Record<string, unknown> };
    if (typeof c.text === 'string') this.outputChars += c.text.length;
    const delta = c.delta;
    if (!delta) return;
    for (const field of ['content', 'refusal', 'reasoning_content'] as const) {
      const text = delta[field];
      if (typeof text === 'string') this.outputChars += text.length;
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) {
        const fn = (call as { function?: { name?: unknown; arguments?: unknown } })?.function;
        if (typeof fn?.name === 'string') this.outputChars += fn.name.length;
        if (typeof fn?.arguments === 'string') this.outputChars += fn.arguments.length;
      }
    }
  }
}
