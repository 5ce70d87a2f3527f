#!/usr/bin/env node
import { callerDirectory } from './caller-directory.ts';
import { CliError, describeError } from './client.ts';
import { buildCli } from './program.ts';

// Run where the user ran `npm run keywarden`, not in the repository root: caller-directory.ts.
const caller = callerDirectory(process.env);
if (caller && caller !== process.cwd()) process.chdir(caller);

buildCli()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`keywarden: ${describeError(error)}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  });
