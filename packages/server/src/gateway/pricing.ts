import { readFileSync } from 'node:fs';
import type { ModelPrice } from '../store/index.ts';
import { modelAllowed } from './models.ts';
import { type ListedPrice, OPENAI_PRICES } from './openai-prices.ts';

/**
 * Tokens → money. Prices are integers: millionths of the currency (USD unless the operator's
 * table says otherwise) per one million tokens, so a cost is exact integer arithmetic and
 * rounds up (a budget is never under-charged by rounding).
 *
 * Lookup order: the upstream's own prices, then the operator's table (KEYWARDEN_PRICES_FILE),
 * then the built-in table below. A dated snapshot (`gpt-4o-mini-2024-07-18`) takes the price
 * of the longest listed name it starts with followed by `-`.
 */

const usd = (input: number, output: number): ModelPrice => ({
  inputMicrosPerMTok: Math.round(input * 1_000_000),
  outputMicrosPerMTok: Math.round(output * 1_000_000),
});

/** A price, with the long-context tier some built-in models have (openai-prices.ts). */
export interface Price extends ModelPrice {
  longContext?: {
    /** Above this many input tokens, the request's tokens all take the prices below. */
    aboveInputTokens: number;
    inputMicrosPerMTok: number;
    outputMicrosPerMTok: number;
  };
}

function listedPrice(listed: ListedPrice): Price {
  const price: Price = usd(listed.input, listed.output);
  if (listed.longContext) {
    const { aboveInputTokens, input, output } = listed.longContext;
    price.longContext = { aboveInputTokens, ...usd(input, output) };
  }
  return price;
}

/** OpenAI's list prices (openai-prices.ts: source, date and address there), by model name. */
export const BUILT_IN_PRICES: Readonly<Record<string, Price>> = Object.fromEntries(
  OPENAI_PRICES.flatMap((listed) => {
    const price = listedPrice(listed);
    return listed.names.map((name) => [name, price] as const);
  }),
);

export class PriceTable {
  readonly #prices: ReadonlyMap<string, Price>;

  constructor(prices: Readonly<Record<string, Price>>) {
    this.#prices = new Map(Object.entries(prices));
  }

  /** The built-in table, overlaid by an operator's JSON file of `{ model: { input, output } }` in units per 1M tokens. */
  static load(file: string | undefined): PriceTable {
    if (!file) return new PriceTable(BUILT_IN_PRICES);
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return new PriceTable({ ...BUILT_IN_PRICES, ...parsePriceFile(parsed, file) });
  }

  priceOf(model: string, overrides?: Readonly<Record<string, ModelPrice>>): Price | null {
    return lookup(model, overrides) ?? lookup(model, this.#prices) ?? null;
  }

  /** Every listed model and its price, by name (`keywarden prices`). */
  entries(): Array<[string, Price]> {
    return [...this.#prices].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** `-YYYY-MM-DD` or `-MMDD` at the end of a model name: an OpenAI snapshot date. */
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{4})$/;
/** `ft:<base>:<org>:<name>:<id>`: OpenAI's fine-tuned model names. */
const FINE_TUNED = /^ft:([^:]+):/;

function lookup(
  model: string,
  prices: Readonly<Record<string, Price>> | ReadonlyMap<string, Price> | undefined,
): Price | undefined {
  if (!prices) return undefined;
  const get = (name: string) =>
    prices instanceof Map
      ? prices.get(name)
      : Object.hasOwn(prices, name)
        ? (prices as Record<string, Price>)[name]
        : undefined;
  const exact = get(model);
  if (exact) return exact;
  // A dated snapshot (`gpt-4o-2024-08-06`, `gpt-4-0613`) takes its model's price. Only a
  // date: a longest-prefix rule priced `gpt-4o-audio-preview` as `gpt-4o` text and
  // `gpt-5-search-api` as `gpt-5`, models left unpriced on purpose (openai-prices.ts).
  // A fine-tuned model (`ft:gpt-4o-mini-2024-07-18:org::id`) takes the price of `ft:<base>`.
  const fineTuned = FINE_TUNED.exec(model);
  if (fineTuned) return lookup(`ft:${fineTuned[1]}`, prices);
  const snapshot = SNAPSHOT_SUFFIX.exec(model);
  return snapshot ? get(model.slice(0, snapshot.index)) : undefined;
}

/**
 * The least a request with no output limit reserves among the models an allowlist lets a key
 * call (null: any): `outputTokens` of the listed model with the cheapest output, its prompt
 * left out (so this is a floor). Null when no allowed listed model has an output price.
 */
export function cheapestReservation(
  table: PriceTable,
  allowlist: readonly string[] | null,
  outputTokens: number,
): { model: string; costMicros: number } | null {
  let cheapest: { model: string; costMicros: number } | null = null;
  for (const [model, price] of table.entries()) {
    if (price.outputMicrosPerMTok === 0 || !modelAllowed(allowlist, model)) continue;
    const cost = costMicros(price, 0, outputTokens);
    if (!cheapest || cost < cheapest.costMicros) cheapest = { model, costMicros: cost };
  }
  return cheapest;
}

/** Micros for the tokens, rounded up; a long-context request pays its tier for all of them. */
export function costMicros(price: Price, tokensIn: number, tokensOut: number): number {
  const tier =
    price.longContext && tokensIn > price.longContext.aboveInputTokens ? price.longContext : price;
  const total = tokensIn * tier.inputMicrosPerMTok + tokensOut * tier.outputMicrosPerMTok;
  return Math.ceil(total / 1_000_000);
}

function parsePriceFile(parsed: unknown, file: string): Record<string, Price> {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${file}: expected an object of model → { "input": n, "output": n }`);
  const prices: Record<string, Price> = {};
  for (const [model, value] of Object.entries(parsed)) {
    const { input, output } = (value ?? {}) as { input?: unknown; output?: unknown };
    if (!isPrice(input) || !isPrice(output))
      throw new Error(
        `${file}: "${model}" needs "input" and "output", non-negative prices per 1M tokens`,
      );
    prices[model] = usd(input, output);
  }
  return prices;
}

function isPrice(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e6;
}
