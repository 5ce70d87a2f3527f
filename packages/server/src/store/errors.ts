/**
 * A unique constraint refused the write (SQLite SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY,
 * PostgreSQL 23505): two writers raced for the same name, and the loser should hear 409,
 * not 500.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  // PostgreSQL: shutting down, cannot connect now, too many connections.
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // SQLite: another writer held the database past the busy timeout.
  'SQLITE_BUSY',
]);
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|connection terminated|connection ended|did not answer within|Client has encountered a connection error|Connection refused/i;

/**
 * The store did not answer (down, unreachable, overloaded), as opposed to refusing a query:
 * the caller should hear 503 and try again, never 500 (issue 15, finding 8). PostgreSQL's
 * connection exceptions are SQLSTATE class 08.
 */
export function isStoreUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; depth++) {
    const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || /^08/.test(code))) return true;
    if (name === 'NoReplyError' || name === 'StoreTimeoutError') return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
