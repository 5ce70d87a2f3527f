import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildCli } from './program.ts';
import { renderCliReference, withReference } from './reference.ts';

const file = new URL('../../../../docs/cli.md', import.meta.url);

test('docs/cli.md lists every command and option the CLI has, and nothing else (npm run docs:cli)', () => {
  const markdown = readFileSync(file, 'utf8');
  assert.equal(markdown, withReference(markdown, renderCliReference(buildCli())));
});

test('the reference names the commands a user looks for', () => {
  const reference = renderCliReference(buildCli());
  for (const command of [
    'keys rotate',
    'keys bulk-revoke',
    'keys bulk-rotate',
    'usage',
    'prices',
    'scan',
  ])
    assert.match(reference, new RegExp(`^### \`keywarden ${command}[ \`]`, 'm'), command);
});
