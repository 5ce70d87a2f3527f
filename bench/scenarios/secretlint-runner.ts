import { readFileSync } from 'node:fs';
import { createEngine } from '@secretlint/node';

/**
 * Child process of the scanner scenario: runs secretlint 12 with its recommended preset on the
 * files listed in argv[2] (a JSON array of absolute paths) through its Node API, and prints
 * one JSON line: the seconds `executeOnFiles` took (config loading and process start-up
 * excluded, as they are for keywarden) and each message's file, lines and rule.
 */

interface SecretlintMessage {
  ruleId: string;
  loc: { start: { line: number }; end: { line: number } };
}

const files = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as string[];
const engine = await createEngine({
  cwd: process.cwd(),
  configFileJSON: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] },
  formatter: 'json',
  color: false,
  maskSecrets: true,
});
const started = performance.now();
const result = await engine.executeOnFiles({ filePathList: files });
const seconds = (performance.now() - started) / 1000;
const reports = JSON.parse(result.output) as Array<{
  filePath: string;
  messages: SecretlintMessage[];
}>;
const hits = reports.flatMap((report) =>
  report.messages.map((m) => ({
    file: report.filePath,
    startLine: m.loc.start.line,
    endLine: m.loc.end.line,
    rule: m.ruleId,
  })),
);
process.stdout.write(`${JSON.stringify({ seconds, hits })}\n`);
