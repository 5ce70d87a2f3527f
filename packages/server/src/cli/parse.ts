import { CliError } from './client.ts';

/**
 * Parsers for the compact option syntaxes (`requests=100/60`, `monthly=25.00/month`,
 * `gpt-4o=2.5,10`, `POST /v1/x/** x:write`). They check the shape only and leave the rules
 * (ranges, decimals, scopes) to the server, which names the field when a value is wrong.
 */

/** commander: a repeatable option collects its values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `requests=100/60`, `tpm=100000/60/tokens` → a rate-limit rule. */
export function parseLimit(text: string) {
  const match = /^([a-z0-9][a-z0-9_-]{0,31})=(\d+)\/(\d+)s?(?:\/(requests|tokens))?$/.exec(text);
  if (!match)
    throw new CliError(
      `--limit ${text}: write name=LIMIT/WINDOW_SECONDS[/requests|tokens], e.g. requests=100/60 or tpm=100000/60/tokens`,
      2,
    );
  return {
    name: match[1]!,
    limit: Number(match[2]),
    windowSeconds: Number(match[3]),
    ...(match[4] ? { unit: match[4] as 'requests' | 'tokens' } : {}),
  };
}

/** `1000/86400/reset` → { amount: 1000, intervalSeconds: 86400, mode: 'reset' } */
export function parseRefill(text: string) {
  const match = /^(\d+)\/(\d+)(?:\/(add|reset))?$/.exec(text);
  if (!match) throw new CliError(`--refill ${text}: write AMOUNT/INTERVAL_SECONDS[/add|reset]`, 2);
  return {
    amount: Number(match[1]),
    intervalSeconds: Number(match[2]),
    mode: (match[3] ?? 'reset') as 'add' | 'reset',
  };
}

/** `monthly=25.00/month` → { name: 'monthly', amount: 25, period: 'month' } */
export function parseBudget(text: string) {
  const match = /^([a-z0-9][a-z0-9_-]{0,31})=(\d+(?:\.\d+)?)\/([a-z]+)$/.exec(text);
  if (!match)
    throw new CliError(
      `--budget ${text}: write NAME=AMOUNT/PERIOD, e.g. monthly=25.00/month (period: hour, day, week, month, total)`,
      2,
    );
  return { name: match[1]!, amount: Number(match[2]), period: match[3]! };
}

/** `gpt-4o=2.5,10` → ['gpt-4o', { input: 2.5, output: 10 }] (units per million tokens). */
export function parsePrice(text: string): [string, { input: number; output: number }] {
  const match = /^([^=\s]+)=(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/.exec(text);
  if (!match)
    throw new CliError(
      `--price ${text}: write MODEL=INPUT,OUTPUT (currency units per million tokens), e.g. gpt-4o=2.5,10`,
      2,
    );
  return [match[1]!, { input: Number(match[2]), output: Number(match[3]) }];
}

/** `POST /v1/things/** things:write` → a route; the method may be `*`. */
export function parseRoute(text: string) {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3)
    throw new CliError(
      `--route ${text}: write "METHOD PATH SCOPE", e.g. "POST /v1/things/** things:write"`,
      2,
    );
  return { method: parts[0]!.toUpperCase(), path: parts[1]!, scope: parts[2]! };
}

/** A whole number of milliseconds (or any integer option). */
export function parseInteger(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CliError(`${option} ${text}: must be a whole number`, 2);
  return Number(text);
}
