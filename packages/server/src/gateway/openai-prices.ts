/**
 * OpenAI's list prices, in US dollars per one million tokens (standard tier, uncached input),
 * for every OpenAI chat, completion, embedding and responses model the source lists.
 *
 * Source: the OpenAI table of pydantic's genai-prices data (npm `@pydantic/genai-prices`
 * 0.1.8, published 2026-09-23), which cites OpenAI's own pages:
 *   https://openai.com/api/pricing/
 *   https://platform.openai.com/docs/pricing
 *   https://help.openai.com/en/articles/7127956-how-much-does-gpt-4-cost
 * Two legacy completion models that table lacks (`babbage-002`, `davinci-002`) are from
 * LiteLLM's model_prices_and_context_window.json as shipped in npm `llm-cost` 1.0.5
 * (published 2024-12-13). Every figure below is the source's, unchanged; where the source
 * has prices that changed on a date (o3, gpt-5.6-*), the one in force today is used.
 *
 * Left out on purpose: audio, realtime, transcription, speech, image and moderation models
 * (their audio or image tokens are priced differently and the gateway does not meter them),
 * and open-weight models that OpenAI's API does not sell. A model not listed here has no
 * price: its calls are recorded as unpriced, and a budgeted key may not call it until the
 * operator adds a price (KEYWARDEN_PRICES_FILE, or the upstream's `prices`).
 *
 * `longContext`: the source's long-context tier: a request whose input is above
 * `aboveInputTokens` pays the higher prices for all its tokens.
 */
export const OPENAI_PRICES_SOURCE = {
  name: '@pydantic/genai-prices 0.1.8 (OpenAI table)',
  date: '2026-09-23',
  urls: ['https://openai.com/api/pricing/', 'https://platform.openai.com/docs/pricing'],
} as const;

export interface ListedPrice {
  /** The model's name and the aliases and snapshots the source lists with it. */
  names: readonly string[];
  /** Dollars per 1M input tokens. */
  input: number;
  /** Dollars per 1M output tokens. */
  output: number;
  longContext?: { aboveInputTokens: number; input: number; output: number };
}

function family(
  names: readonly string[],
  input: number,
  output: number,
  longContext?: ListedPrice['longContext'],
): ListedPrice {
  return longContext ? { names, input, output, longContext } : { names, input, output };
}

export const OPENAI_PRICES: readonly ListedPrice[] = [
  family(['ada', 'text-ada-001'], 0.4, 0.4),
  family(['babbage'], 0.5, 0.5),
  family(['chatgpt-4o-latest'], 5, 15),
  family(['codex-mini', 'codex-mini-latest'], 1.5, 6),
  family(['computer-use-preview'], 3, 12),
  family(['curie', 'text-curie-001'], 2, 2),
  family(['davinci', 'text-davinci-001'], 20, 20),
  family(['ft:gpt-3.5-turbo'], 3, 6),
  family(['ft:gpt-4o'], 3.75, 15),
  family(['ft:gpt-4o-mini'], 0.3, 1.2),
  family(['gpt-3.5-turbo-0301', 'gpt-3.5-0301'], 1.5, 2),
  family(['gpt-3.5-turbo', 'gpt-35-turbo', 'gpt-3.5-turbo-0125'], 0.5, 1.5),
  family(['gpt-3.5-turbo-0613'], 1.5, 2),
  family(['gpt-3.5-turbo-1106'], 1, 2),
  family(
    ['gpt-3.5-turbo-16k', 'gpt-3.5-turbo-16k-0613', 'gpt-35-turbo-16k-0613', 'gpt-35-turbo-16k'],
    3,
    4,
  ),
  family(['gpt-3.5-turbo-instruct', 'gpt-3.5-turbo-instruct-0914'], 1.5, 2),
  family(['gpt-4', 'gpt-4-0314', 'gpt-4-0613', 'ft:gpt-4'], 30, 60),
  family(['gpt-4-32k', 'gpt-4-32k-0314', 'gpt-4-32k-0613'], 60, 120),
  family(
    [
      'gpt-4-turbo',
      'gpt-4-turbo-2024-04-09',
      'gpt-4-turbo-0125-preview',
      'gpt-4-0125-preview',
      'gpt-4-1106-preview',
      'gpt-4-turbo-preview',
    ],
    10,
    30,
  ),
  family(['gpt-4-vision-preview', 'gpt-4-1106-vision-preview'], 10, 30),
  family(['gpt-4.1', 'gpt-4.1-2025-04-14'], 2, 8),
  family(['gpt-4.1-mini', 'gpt-4.1-mini-2025-04-14'], 0.4, 1.6),
  family(['gpt-4.1-nano', 'gpt-4.1-nano-2025-04-14'], 0.1, 0.4),
  family(['gpt-4.5-preview'], 75, 150),
  family(['gpt-4o', 'gpt-4o-2024-08-06', 'gpt-4o-2024-11-20'], 2.5, 10),
  family(['gpt-4o-2024-05-13'], 5, 15),
  family(
    [
      'gpt-4o-mini',
      'gpt-4o-mini-2024-07-18',
      'gpt-4o-mini-search-preview',
      'gpt-4o-mini-search-preview-2025-03-11',
    ],
    0.15,
    0.6,
  ),
  family(['gpt-4o-search-preview', 'gpt-4o-search-preview-2025-03-11'], 2.5, 10),
  family(['gpt-5', 'gpt-5-2025-08-07', 'gpt-5-chat', 'gpt-5-chat-latest', 'gpt-5-codex'], 1.25, 10),
  family(['gpt-5-mini', 'gpt-5-mini-2025-08-07'], 0.25, 2),
  family(['gpt-5-nano'], 0.05, 0.4),
  family(['gpt-5-pro', 'gpt-5-pro-2025-10-06'], 15, 120),
  family(
    [
      'gpt-5.1',
      'gpt-5.1-2025-11-13',
      'gpt-5.1-codex',
      'gpt-5.1-codex-max',
      'gpt-5.1-chat',
      'gpt-5.1-chat-latest',
      'gpt-5-1',
      'gpt-5-1-2025-11-13',
      'gpt-5-1-codex',
      'gpt-5-1-codex-max',
      'gpt-5-1-chat',
      'gpt-5-1-chat-latest',
    ],
    1.25,
    10,
  ),
  family(['gpt-5.1-codex-mini', 'gpt-5.1-mini', 'gpt-5-1-codex-mini', 'gpt-5-1-mini'], 0.25, 2),
  family(
    [
      'gpt-5.2',
      'gpt-5.2-2025-12-11',
      'gpt-5-2',
      'gpt-5-2-2025-12-11',
      'gpt-5.2-chat',
      'gpt-5.2-chat-latest',
      'gpt-5-2-chat',
      'gpt-5-2-chat-latest',
      'gpt-5.2-codex',
      'gpt-5-2-codex',
    ],
    1.75,
    14,
  ),
  family(['gpt-5.2-pro', 'gpt-5.2-pro-2025-12-11', 'gpt-5-2-pro-2025-12-11'], 21, 168),
  family(
    [
      'gpt-5.3',
      'gpt-5-3',
      'gpt-5.3-chat',
      'gpt-5.3-chat-latest',
      'gpt-5-3-chat',
      'gpt-5-3-chat-latest',
    ],
    1.75,
    14,
  ),
  family(['gpt-5.3-codex', 'gpt-5-3-codex'], 1.75, 14),
  family(['gpt-5.4', 'gpt-5.4-2026-03-05', 'gpt-5-4', 'gpt-5-4-2026-03-05'], 2.5, 15, {
    aboveInputTokens: 271_999,
    input: 5,
    output: 22.5,
  }),
  family(
    ['gpt-5.4-mini', 'gpt-5.4-mini-2026-03-17', 'gpt-5-4-mini', 'gpt-5-4-mini-2026-03-17'],
    0.75,
    4.5,
  ),
  family(
    ['gpt-5.4-nano', 'gpt-5.4-nano-2026-03-17', 'gpt-5-4-nano', 'gpt-5-4-nano-2026-03-17'],
    0.2,
    1.25,
  ),
  family(
    ['gpt-5.4-pro', 'gpt-5.4-pro-2026-03-05', 'gpt-5-4-pro', 'gpt-5-4-pro-2026-03-05'],
    30,
    180,
    { aboveInputTokens: 271_999, input: 60, output: 270 },
  ),
  family(
    [
      'gpt-5.5',
      'gpt-5.5-2026-04-23',
      'gpt-5.5-2026-04-24',
      'gpt-5-5',
      'gpt-5-5-2026-04-23',
      'gpt-5-5-2026-04-24',
      'gpt-5.5-chat',
      'gpt-5.5-chat-latest',
      'gpt-5-5-chat',
      'gpt-5-5-chat-latest',
      'gpt-5.5-codex',
      'gpt-5-5-codex',
    ],
    5,
    30,
    { aboveInputTokens: 271_999, input: 10, output: 45 },
  ),
  family(
    ['gpt-5.5-pro', 'gpt-5.5-pro-2026-04-23', 'gpt-5-5-pro', 'gpt-5-5-pro-2026-04-23'],
    30,
    180,
    { aboveInputTokens: 271_999, input: 60, output: 270 },
  ),
  family(['gpt-5.6-luna', 'gpt-5-6-luna'], 0.2, 1.2, {
    aboveInputTokens: 271_999,
    input: 0.4,
    output: 1.8,
  }),
  family(['gpt-5.6-sol', 'gpt-5-6-sol', 'gpt-5.6', 'gpt-5-6'], 4, 20, {
    aboveInputTokens: 271_999,
    input: 8,
    output: 30,
  }),
  family(['gpt-5.6-terra', 'gpt-5-6-terra'], 2, 12, {
    aboveInputTokens: 271_999,
    input: 4,
    output: 18,
  }),
  family(['gpt-6-astra'], 10, 50, { aboveInputTokens: 271_999, input: 20, output: 75 }),
  family(['gpt-6-luna'], 0.1, 0.5, { aboveInputTokens: 272_000, input: 0.2, output: 0.75 }),
  family(['gpt-6-sol'], 2, 10, { aboveInputTokens: 272_000, input: 4, output: 15 }),
  family(['gpt-chat-latest'], 5, 30),
  family(['o1', 'o1-2024-12-17'], 15, 60),
  family(['o1-mini', 'o1-mini-2024-09-12'], 1.1, 4.4),
  family(['o1-preview', 'o1-preview-2024-09-12'], 15, 60),
  family(['o1-pro', 'o1-pro-2025-03-19'], 150, 600),
  family(['o3', 'o3-2025-04-16'], 2, 8),
  family(['o3-deep-research', 'o3-deep-research-2025-06-26'], 10, 40),
  family(['o3-mini', 'o3-mini-2025-01-31', 'o3-mini-high'], 1.1, 4.4),
  family(['o3-pro', 'o3-pro-2025-06-10'], 20, 80),
  family(['o4-mini-2025-04-16', 'o4-mini-high', 'o4-mini'], 1.1, 4.4),
  family(['o4-mini-deep-research', 'o4-mini-deep-research-2025-06-26'], 2, 8),
  family(['text-davinci-002'], 20, 20),
  family(['text-davinci-003'], 20, 20),
  family(['text-embedding-3-large'], 0.13, 0),
  family(['text-embedding-3-small'], 0.02, 0),
  family(['text-embedding-ada', 'text-embedding-ada-002', 'text-embedding-ada-002-v2'], 0.1, 0),
  // From LiteLLM's table (npm llm-cost 1.0.5): without them these would take the price of
  // `babbage` and `davinci` by the snapshot rule, which is not theirs.
  family(['babbage-002'], 0.4, 0.4),
  family(['davinci-002'], 2, 2),
];
