/**
 * The directory the user ran the command from. `npm run keywarden -- …` runs the CLI from the
 * repository root, whatever directory npm was called in, and says where that was in
 * `INIT_CWD`: every relative path a command takes (`scan` paths and its default `.`,
 * `--key-file`, `--data`, `--output`, `--baseline`) must be the caller's, or `scan .env`
 * fails and a bare `scan` reports on the wrong folder. Outside npm (the installed binary,
 * `npx`), the process's own working directory already is the caller's: null.
 *
 * Only the `keywarden` script itself: a CLI started by any other npm script (a test run, a
 * user's `"scan": "cd src && keywarden scan ."`) inherits `INIT_CWD` too, and its own working
 * directory is the one it was given.
 */
export function callerDirectory(env: NodeJS.ProcessEnv): string | null {
  if (env.npm_lifecycle_event !== 'keywarden' || !env.INIT_CWD) return null;
  return env.INIT_CWD;
}
