import type { Command, Option } from 'commander';

/**
 * docs/cli.md's command reference, written from the commander definitions themselves, so
 * that the reference lists every command and option the CLI has and nothing it has not
 * (`reference.test.ts` fails when the file and the program differ; `npm run docs:cli`
 * rewrites the block). The prose around the block is written by hand.
 */
export const REFERENCE_START =
  '<!-- cli-reference:start (generated from the CLI by `npm run docs:cli`: do not edit) -->';
export const REFERENCE_END = '<!-- cli-reference:end -->';

export function renderCliReference(program: Command): string {
  const sections: string[] = [];
  const visit = (command: Command, path: string[]) => {
    const here = [...path, command.name()];
    const runnable = command.commands.length === 0 || hasAction(command);
    if (path.length > 0 && runnable) sections.push(renderCommand(command, here));
    for (const sub of command.commands) visit(sub, here);
  };
  visit(program, []);
  return sections.join('\n');
}

function hasAction(command: Command): boolean {
  return Boolean((command as unknown as { _actionHandler?: unknown })._actionHandler);
}

function renderCommand(command: Command, path: string[]): string {
  const args = command.registeredArguments
    .map((a) => {
      const name = `${a.name()}${a.variadic ? '…' : ''}`;
      return a.required ? `<${name}>` : `[${name}]`;
    })
    .join(' ');
  const title = `${path.join(' ')}${args ? ` ${args}` : ''}`;
  const lines = [`### \`${title}\``, '', `${text(command.description())}`, ''];
  for (const a of command.registeredArguments)
    if (a.description) lines.push(`- \`${a.name()}\`: ${text(a.description)}`);
  for (const option of command.options) lines.push(`- ${renderOption(option)}`);
  if (command.registeredArguments.some((a) => a.description) || command.options.length > 0)
    lines.push('');
  return lines.join('\n');
}

function renderOption(option: Option): string {
  const notes: string[] = [];
  if (option.mandatory) notes.push('required');
  if (option.argChoices)
    notes.push(`one of ${option.argChoices.map((c) => `\`${c}\``).join(', ')}`);
  if (option.defaultValue !== undefined && option.defaultValue !== false && !option.negate)
    notes.push(`default \`${String(option.defaultValue)}\``);
  const suffix = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  return `\`${option.flags}\`: ${text(option.description)}${suffix}`;
}

/** Markdown text: `*` (emphasis), `|`, `<`, `>` and brackets are escaped; `_` inside words is text. */
function text(value: string): string {
  return value.replace(/([*|<>[\]])/g, '\\$1');
}

/** The file with its generated block replaced; throws when the markers are missing. */
export function withReference(markdown: string, reference: string): string {
  const start = markdown.indexOf(REFERENCE_START);
  const end = markdown.indexOf(REFERENCE_END);
  if (start === -1 || end === -1 || end < start)
    throw new Error('docs/cli.md has no cli-reference markers');
  return `${markdown.slice(0, start + REFERENCE_START.length)}\n\n${reference}\n${markdown.slice(end)}`;
}
