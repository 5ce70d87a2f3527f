import { readFileSync, statSync } from 'node:fs';
import { KeywardenError } from '../errors/index.ts';

/**
 * The CLI's HTTP client for the management API. The management key comes from
 * KEYWARDEN_ADMIN_KEY or a key file, never from a command-line argument: arguments show in
 * the process list and in shell history.
 */
export interface ClientOptions {
  url?: string;
  keyFile?: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function managementKey(options: ClientOptions): string {
  if (options.keyFile) {
    const mode = statSync(options.keyFile).mode & 0o077;
    if (mode !== 0)
      process.stderr.write(
        `warning: ${options.keyFile} is readable by other users (chmod 600 it)\n`,
      );
    return readFileSync(options.keyFile, 'utf8').trim();
  }
  const fromEnv = process.env.KEYWARDEN_ADMIN_KEY?.trim();
  if (fromEnv) return fromEnv;
  throw new CliError('no management key: set KEYWARDEN_ADMIN_KEY or pass --key-file <path>', 2);
}

export function serverUrl(options: ClientOptions): string {
  return (options.url ?? process.env.KEYWARDEN_URL ?? 'http://127.0.0.1:8787').replace(/\/+$/, '');
}

/** Asks on the terminal; without one (CI, pipes) there is no answer: pass --yes. */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new CliError(`${question} — no terminal to confirm on: pass --yes`, 2);
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function callApi<T>(
  options: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const key = managementKey(options);
  let response: Response;
  try {
    response = await fetch(`${serverUrl(options)}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...extraHeaders,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new CliError(
      `cannot reach keywarden at ${serverUrl(options)}: ${(error as Error).message}`,
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    const code = typeof parsed.code === 'string' ? parsed.code : `HTTP ${response.status}`;
    const detail = typeof parsed.detail === 'string' ? parsed.detail : response.statusText;
    throw new CliError(`${code}: ${detail}`);
  }
  return parsed as T;
}

export function describeError(error: unknown): string {
  if (error instanceof CliError || error instanceof KeywardenError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
