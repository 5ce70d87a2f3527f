import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelAllowed } from './models.ts';
import { OPENAI_PRICES, OPENAI_PRICES_SOURCE } from './openai-prices.ts';
import { costMicros, PriceTable } from './pricing.ts';
import { estimatePromptTokens, maxOutputTokens, tokensForText } from './tokens.ts';

test('prices: exact names, dated snapshots by longest prefix, upstream overrides first', () => {
  const table = PriceTable.load(undefined);
  assert.deepEqual(table.priceOf('gpt-4o-mini'), {
    inputMicrosPerMTok: 150_000,
    outputMicrosPerMTok: 600_000,
  });
  assert.deepEqual(table.priceOf('gpt-4o-mini-2024-07-18'), table.priceOf('gpt-4o-mini'));
  assert.deepEqual(table.priceOf('gpt-4o-2024-08-06'), table.priceOf('gpt-4o'));
  assert.equal(table.priceOf('my-own-model'), null);
  // Only a date makes a snapshot: variants priced otherwise are not taken for their base.
  for (const variant of ['gpt-4o-audio-preview', 'gpt-4o-mini-audio-preview', 'gpt-5-search-api'])
    assert.equal(table.priceOf(variant), null, variant);
  assert.equal(table.priceOf('__proto__'), null);
  const override = { 'gpt-4o': { inputMicrosPerMTok: 1, outputMicrosPerMTok: 2 } };
  assert.deepEqual(table.priceOf('gpt-4o-2024-08-06', override), override['gpt-4o']);
});

test('an operator price file overlays the built-in table and is validated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-prices-'));
  const file = join(dir, 'prices.json');
  writeFileSync(
    file,
    JSON.stringify({ 'gpt-4o': { input: 5, output: 15 }, local: { input: 0, output: 0 } }),
  );
  const table = PriceTable.load(file);
  assert.deepEqual(table.priceOf('gpt-4o'), {
    inputMicrosPerMTok: 5_000_000,
    outputMicrosPerMTok: 15_000_000,
  });
  assert.deepEqual(table.priceOf('local'), { inputMicrosPerMTok: 0, outputMicrosPerMTok: 0 });
  writeFileSync(file, JSON.stringify({ bad: { input: -1, output: 1 } }));
  assert.throws(() => PriceTable.load(file), /"bad" needs/);
});

test('cost is exact integer micros, rounded up', () => {
  const price = { inputMicrosPerMTok: 150_000, outputMicrosPerMTok: 600_000 };
  assert.equal(costMicros(price, 1_000_000, 0), 150_000);
  assert.equal(costMicros(price, 10, 20), Math.ceil((10 * 150_000 + 20 * 600_000) / 1e6));
  assert.equal(costMicros(price, 1, 0), 1, 'a fraction of a micro is charged as one');
  assert.equal(costMicros(price, 0, 0), 0);
});

test('model allowlists: exact names and * patterns; null allows all', () => {
  assert.equal(modelAllowed(null, 'anything'), true);
  assert.equal(modelAllowed([], 'gpt-4o'), false);
  assert.equal(modelAllowed(['gpt-4o-mini'], 'gpt-4o-mini'), true);
  assert.equal(modelAllowed(['gpt-4o-mini'], 'gpt-4o'), false);
  assert.equal(modelAllowed(['gpt-4o*'], 'gpt-4o-mini-2024-07-18'), true);
  assert.equal(modelAllowed(['*-mini'], 'o4-mini'), true);
  assert.equal(modelAllowed(['gpt-4.1'], 'gpt-4x1'), false, 'a dot is a dot, not any character');
});

test('token estimates: text of messages, prompts and inputs; reservations include the allowed output', () => {
  assert.equal(tokensForText(0), 0);
  assert.equal(tokensForText(9), 3);
  const chat = {
    messages: [
      { role: 'user', content: 'x'.repeat(40) },
      { role: 'user', content: [{ type: 'text', text: 'y'.repeat(8) }] },
    ],
  };
  assert.equal(estimatePromptTokens(chat), 10 + 2 + 2 * 4 + 3);
  assert.equal(estimatePromptTokens({ input: ['abcd', 'efgh'] }), 2 + 3);
  assert.equal(maxOutputTokens({ max_tokens: 50 }, 'chat.completions', 4096), 50);
  assert.equal(maxOutputTokens({ max_completion_tokens: 20, n: 3 }, 'chat.completions', 4096), 60);
  assert.equal(maxOutputTokens({}, 'responses', 4096), 4096);
  assert.equal(maxOutputTokens({ max_tokens: 50 }, 'embeddings', 4096), 0);
  assert.equal(
    maxOutputTokens({ max_tokens: '50' }, 'chat.completions', 7),
    7,
    'strings are not numbers',
  );
});

test('the built-in list covers legacy and current OpenAI models at their listed prices', () => {
  const table = PriceTable.load(undefined);
  const dollars = (model: string) => {
    const price = table.priceOf(model);
    return price && [price.inputMicrosPerMTok / 1e6, price.outputMicrosPerMTok / 1e6];
  };
  // The lesson's own model (issue #13): $30 / $60 per million input / output tokens.
  assert.deepEqual(dollars('gpt-4'), [30, 60]);
  assert.deepEqual(dollars('gpt-4-0613'), [30, 60]);
  assert.deepEqual(dollars('gpt-4-32k'), [60, 120]);
  // Snapshots the longest-prefix rule would misprice are listed by name.
  assert.deepEqual(dollars('gpt-4-0125-preview'), [10, 30], 'a turbo, not a gpt-4');
  assert.deepEqual(dollars('gpt-4-1106-vision-preview'), [10, 30]);
  assert.deepEqual(dollars('gpt-3.5-turbo-1106'), [1, 2]);
  assert.deepEqual(dollars('gpt-3.5-turbo-instruct'), [1.5, 2]);
  assert.deepEqual(dollars('gpt-4o-2024-05-13'), [5, 15]);
  assert.deepEqual(dollars('davinci-002'), [2, 2], 'not the legacy davinci');
  assert.deepEqual(dollars('babbage-002'), [0.4, 0.4]);
  assert.deepEqual(dollars('text-davinci-003'), [20, 20]);
  assert.deepEqual(dollars('gpt-5-pro'), [15, 120], 'not gpt-5');
  assert.deepEqual(dollars('gpt-5.1-codex-mini'), [0.25, 2]);
  assert.deepEqual(dollars('o1-pro'), [150, 600]);
  assert.deepEqual(dollars('o3'), [2, 8], 'the price in force, not the launch price');
  assert.deepEqual(dollars('text-embedding-3-small'), [0.02, 0]);
  assert.deepEqual(dollars('computer-use-preview-2025-03-11'), [3, 12]);
  assert.deepEqual(dollars('ft:gpt-4o-mini-2024-07-18:acme::abc123'), [0.3, 1.2]);
  // Not chat, completion, embedding or responses text models: deliberately unpriced.
  assert.equal(table.priceOf('whisper-1'), null);
  assert.equal(table.priceOf('gpt-image-1'), null);
});

test('a long-context request pays the higher tier for all its tokens', () => {
  const price = PriceTable.load(undefined).priceOf('gpt-5.4')!;
  assert.equal(costMicros(price, 1_000, 0), 2_500, 'base: $2.50 per 1M');
  assert.equal(costMicros(price, 271_999, 0), Math.ceil(271_999 * 2.5));
  assert.equal(costMicros(price, 272_000, 1_000), Math.ceil(272_000 * 5 + 1_000 * 22.5));
});

test('each listed name has one price', () => {
  const seen = new Map<string, number>();
  for (const listed of OPENAI_PRICES)
    for (const name of listed.names) seen.set(name, (seen.get(name) ?? 0) + 1);
  assert.deepEqual(
    [...seen].filter(([, n]) => n > 1),
    [],
  );
  assert.ok(OPENAI_PRICES_SOURCE.urls.includes('https://platform.openai.com/docs/pricing'));
});
