/** Delay before retry `attempt` (1-based): doubles from initialMs, capped at maxMs. */
export function backoffMs(attempt: number, retry: { initialMs: number; maxMs: number }): number {
  return Math.min(retry.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30), retry.maxMs);
}
