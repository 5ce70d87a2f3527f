/**
 * Model allowlists: exact names or `*` patterns (`gpt-4o*`, `*-mini`). Null allows every
 * model. Patterns are compiled once per distinct list (keys share few lists).
 */
const compiled = new Map<string, RegExp>();
const MEMO_LIMIT = 512;

function patternFor(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (!regex) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${body}$`);
    if (compiled.size >= MEMO_LIMIT) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

export function modelAllowed(allowlist: readonly string[] | null, model: string): boolean {
  if (allowlist === null) return true;
  return allowlist.some((pattern) =>
    pattern.includes('*') ? patternFor(pattern).test(model) : pattern === model,
  );
}
