/** `npm run docs:cli`: rewrites docs/cli.md's generated command reference (reference.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildCli } from './program.ts';
import { renderCliReference, withReference } from './reference.ts';

const file = new URL('../../../../docs/cli.md', import.meta.url);
writeFileSync(file, withReference(readFileSync(file, 'utf8'), renderCliReference(buildCli())));
