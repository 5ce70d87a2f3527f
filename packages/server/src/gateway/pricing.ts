import { readFileSync } from 'node:fs';
import type { ModelPrice } from '../store/index.ts';

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

/** OpenAI's list prices per 1M tokens (standard tier, uncached input), as of 2026. */
export const BUILT_IN_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5': usd(1.25, 10),
  'gpt-5-mini': usd(0.25, 2),
  'gpt-5-nano': usd(0.05, 0.4),
  'gpt-4.1': usd(2, 8),
  'gpt-4.1-mini': usd(0.4, 1.6),
  'gpt-4.1-nano': usd(0.1, 0.4),
  'gpt-4o': usd(2.5, 10),
  'gpt-4o-mini': usd(0.15, 0.6),
  'gpt-4-turbo': usd(10, 30),
  'gpt-3.5-turbo': usd(0.5, 1.5),
  o1: usd(15, 60),
  'o1-mini': usd(1.1, 4.4),
  o3: usd(2, 8),
  'o3-mini': usd(1.1, 4.4),
  'o4-mini': usd(1.1, 4.4),
  'text-embedding-3-small': usd(0.02, 0),
  'text-embedding-3-large': usd(0.13, 0),
  'text-embedding-ada-002': usd(0.1, 0),
};

export class PriceTable {
  readonly #prices: ReadonlyMap<string, ModelPrice>;

  constructor(prices: Readonly<Record<string, ModelPrice>>) {
    this.#prices = new Map(Object.entries(prices));
  }

  /** The built-in table, overlaid by an operator's JSON file of `{ model: { input, output } }` in units per 1M tokens. */
  static load(file: string | undefined): PriceTable {
    if (!file) return new PriceTable(BUILT_IN_PRICES);
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return new PriceTable({ ...BUILT_IN_PRICES, ...parsePriceFile(parsed, file) });
  }

  priceOf(model: string, overrides?: Readonly<Record<string, ModelPrice>>): ModelPrice | null {
    return lookup(model, overrides) ?? lookup(model, this.#prices) ?? null;
  }
}

function lookup(
  model: string,
  prices: Readonly<Record<string, ModelPrice>> | ReadonlyMap<string, ModelPrice> | undefined,
): ModelPrice | undefined {
  if (!prices) return undefined;
  const get = (name: string) =>
    prices instanceof Map
      ? prices.get(name)
      : Object.hasOwn(prices, name)
        ? (prices as Record<string, ModelPrice>)[name]
        : undefined;
  const exact = get(model);
  if (exact) return exact;
  // Snapshot names: try ever shorter prefixes that end before a '-'.
  for (let cut = model.lastIndexOf('-'); cut > 0; cut = model.lastIndexOf('-', cut - 1)) {
    const price = get(model.slice(0, cut));
    if (price) return price;
  }
  return undefined;
}

/** Micros for the tokens, rounded up. */
export function costMicros(price: ModelPrice, tokensIn: number, tokensOut: number): number {
  const total = tokensIn * price.inputMicrosPerMTok + tokensOut * price.outputMicrosPerMTok;
  return Math.ceil(total / 1_000_000);
}

function parsePriceFile(parsed: unknown, file: string): Record<string, ModelPrice> {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${file}: expected an object of model → { "input": n, "output": n }`);
  const prices: Record<string, ModelPrice> = {};
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
