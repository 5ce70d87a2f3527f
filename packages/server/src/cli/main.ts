#!/usr/bin/env node
import { callerDirectory } from './caller-directory.ts';
import { CliError, describeError } from './client.ts';
import { buildCli } from './program.ts';

// Run where the user ran `npm run keywarden`, not in the repository root: caller-directory.ts.
const caller = callerDirectory(process.env);
if (caller && caller !== process.cwd()) process.chdir(caller);

// A reader that stops early (`keywarden keys list | head`) closes the pipe: that is its choice,
// not our error. Without this, Node throws EPIPE from the next write and prints a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

buildCli()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`keywarden: ${describeError(error)}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  });
