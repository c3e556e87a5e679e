/** PostgreSQL's answers to two transactions in each other's way: deadlock, serialization failure. */
const CONFLICT_CODES = new Set(['40P01', '40001']);

export function isConflict(error: unknown): boolean {
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } } | null)?.code ??
    (error as { driverError?: { code?: unknown } } | null)?.driverError?.code;
  return typeof code === 'string' && CONFLICT_CODES.has(code);
}

/**
 * Runs a whole transaction again when PostgreSQL aborted it as a deadlock victim or for a
 * serialization failure, as PostgreSQL's documentation asks of clients: the other transaction went
 * through, and this one, started afresh, re-reads everything it decides on. A few attempts with a
 * short jittered pause; the last failure is thrown as it came.
 */
export async function retryConflicts<T>(transaction: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= attempts || !isConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}
