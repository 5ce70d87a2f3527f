import { SCAN_RULES, type ScanRule } from '../rules.ts';
import type { ScanFinding } from '../scan-finding.ts';

/**
 * SARIF 2.1.0, the format GitHub code scanning (and most CI security dashboards) ingest.
 * Messages carry only the redacted form; `partialFingerprints` carry our fingerprint, so that
 * code scanning tracks one alert per secret across pushes.
 */

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const FINGERPRINT_KEY = 'keywardenSecret/v1';

// GitHub maps `security-severity` to critical (≥ 9), high (≥ 7), medium (≥ 4).
function severityOf(rule: ScanRule): string {
  if (rule.kind === 'aws-access-key-id') return '7.0';
  return rule.level === 'error' ? '9.0' : '7.0';
}

function uriOf(file: string): string {
  // Relative references with forward slashes; characters URIs do not allow are escaped.
  return file.split('/').map(encodeURIComponent).join('/');
}

export function toSarif(
  findings: readonly ScanFinding[],
  options: { toolVersion: string; rules?: readonly ScanRule[] },
): Record<string, unknown> {
  const rules = options.rules ?? SCAN_RULES;
  const index = new Map(rules.map((rule, i) => [rule.id, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'keywarden',
            semanticVersion: options.toolVersion,
            rules: rules.map((rule) => ({
              id: rule.id,
              name: rule.title.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) =>
                c ? c.toUpperCase() : '',
              ),
              shortDescription: { text: rule.title },
              fullDescription: { text: rule.description },
              help: {
                text: 'Revoke or rotate the secret, then remove it from the code and its history. See docs/leaks.md.',
              },
              defaultConfiguration: { level: rule.level },
              properties: {
                tags: ['security', 'secret', `kind:${rule.kind}`],
                precision: rule.level === 'error' ? 'very-high' : 'medium',
                'security-severity': severityOf(rule),
              },
            })),
          },
        },
        columnKind: 'utf16CodeUnits',
        results: findings.map((finding) => {
          const rule = rules[index.get(finding.ruleId) ?? -1];
          const facts = [
            finding.commit ? `in commit ${finding.commit.slice(0, 12)}` : '',
            finding.check ? `server says ${finding.check.status}` : '',
            finding.revoked ? 'revoked by the scan' : '',
          ].filter(Boolean);
          return {
            ruleId: finding.ruleId,
            ...(index.has(finding.ruleId) && { ruleIndex: index.get(finding.ruleId) }),
            level: rule?.level ?? 'error',
            message: {
              text: `${rule?.title ?? finding.kind} found: ${finding.redacted}${facts.length ? ` (${facts.join(', ')})` : ''}`,
            },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: uriOf(finding.file), uriBaseId: '%SRCROOT%' },
                  region: {
                    startLine: finding.line,
                    startColumn: finding.column,
                    endLine: finding.endLine,
                    endColumn: finding.endColumn,
                  },
                },
              },
            ],
            partialFingerprints: { [FINGERPRINT_KEY]: finding.fingerprint },
            ...((finding.commit !== undefined || finding.check !== undefined) && {
              properties: {
                ...(finding.commit !== undefined && {
                  commit: finding.commit,
                  authorDate: finding.authorDate,
                }),
                ...(finding.check !== undefined && { check: finding.check }),
                ...(finding.revoked !== undefined && { revoked: finding.revoked }),
              },
            }),
          };
        }),
      },
    ],
  };
}
