import { PcxError, isPcxError } from '@portcullis/common';

/**
 * A broker that cannot be reached or does not acknowledge in time is one outcome for
 * callers: PCX_AUDIT_UNAVAILABLE (retriable). The kafkajs error name rides in the
 * context for operators; the kafkajs error itself is the cause.
 */
export function brokerUnavailable(e: unknown, what: string, context: Record<string, string | number | boolean | undefined> = {}): PcxError {
  if (isPcxError(e)) return e;
  const name = e instanceof Error ? e.name : typeof e;
  const detail = e instanceof Error ? e.message : String(e);
  return new PcxError('PCX_AUDIT_UNAVAILABLE', `event broker unavailable: ${what}`, { ...context, kafkaError: name, detail }, { cause: e });
}

/**
 * The Kafka protocol error type (ILLEGAL_GENERATION, …) behind a kafkajs error. kafkajs's
 * retrier wraps the protocol error (KafkaJSNonRetriableError, NumberOfRetriesExceeded),
 * so the type sits somewhere down the cause chain.
 */
export function kafkaErrorType(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 5; cur = cur.cause, depth++) {
    const type = (cur as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}
