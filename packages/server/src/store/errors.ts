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
