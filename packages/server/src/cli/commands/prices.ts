import type { Command } from 'commander';
import { OPENAI_PRICES_SOURCE, type Price, PriceTable } from '../../gateway/index.ts';
import { formatUsd } from '../../money/index.ts';
import { output, printTable } from '../output.ts';

/**
 * `keywarden prices`: the price table the gateway charges with — the built-in OpenAI list
 * overlaid by KEYWARDEN_PRICES_FILE, as a node started here would load it. An upstream's own
 * `prices` (keywarden upstreams show) come before both.
 */
export function registerPrices(program: Command): void {
  program
    .command('prices')
    .description('the gateway price table: built-in OpenAI prices and KEYWARDEN_PRICES_FILE')
    .argument('[model]', 'only the price this model name gets (dated snapshots included)')
    .option('--json', 'machine-readable output')
    .action((model: string | undefined, o: { json?: boolean }) => {
      const table = PriceTable.load(process.env.KEYWARDEN_PRICES_FILE || undefined);
      const entries: Array<[string, Price | null]> = model
        ? [[model, table.priceOf(model)]]
        : table.entries();
      const rows = entries.map(([name, price]) => priceRow(name, price));
      const answer = { source: OPENAI_PRICES_SOURCE, data: rows };
      output(answer, o, () => {
        printTable(
          rows.map((row) => ({
            model: row.model,
            'input $/1M': row.inputUsdPerMTok === null ? 'no price' : `$${row.inputUsdPerMTok}`,
            'output $/1M': row.outputUsdPerMTok === null ? 'no price' : `$${row.outputUsdPerMTok}`,
            'long context': row.longContext
              ? `above ${row.longContext.aboveInputTokens} input tokens: $${row.longContext.inputUsdPerMTok} / $${row.longContext.outputUsdPerMTok}`
              : '',
          })),
          ['model', 'input $/1M', 'output $/1M', 'long context'],
        );
        process.stdout.write(
          `\nBuilt-in prices: ${OPENAI_PRICES_SOURCE.name}, ${OPENAI_PRICES_SOURCE.date} (${OPENAI_PRICES_SOURCE.urls.join(', ')}).\n` +
            'Add or change one with KEYWARDEN_PRICES_FILE or `keywarden upstreams update NAME --price MODEL=INPUT,OUTPUT`.\n',
        );
      });
    });
}

function priceRow(model: string, price: Price | null) {
  return {
    model,
    inputUsdPerMTok: price ? formatUsd(price.inputMicrosPerMTok, 2) : null,
    outputUsdPerMTok: price ? formatUsd(price.outputMicrosPerMTok, 2) : null,
    longContext: price?.longContext
      ? {
          aboveInputTokens: price.longContext.aboveInputTokens,
          inputUsdPerMTok: formatUsd(price.longContext.inputMicrosPerMTok, 2),
          outputUsdPerMTok: formatUsd(price.longContext.outputMicrosPerMTok, 2),
        }
      : null,
  };
}
