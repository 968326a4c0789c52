import type { ConnectionFacts } from '../events/event-builder.js';

/** A cell as the caller receives it: exact types (numerics, bigints, dates) travel as text. */
export type ResultValue = null | string | number | boolean;

export interface ResultColumn {
  readonly name: string;
  /** The target's type name (pg: `int4`, `text`, `numeric`, …). */
  readonly type: string;
}

export interface ResultSet {
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly (readonly ResultValue[])[];
  /** Rows returned by a read or affected by a write, as the target reported them. */
  readonly rowCount: number;
  readonly commandTag: string;
  /** True when more rows came back than the gateway passes on (limits.maxResultRows). */
  readonly rowsCapped: boolean;
}

/**
 * What a target needs of a cancellation signal. An AbortSignal is one; so is a running
 * command's Flight (src/exec/in-flight.ts), which spares every command an AbortController.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RunOptions {
  readonly maxRows: number;
  /** Aborted when the command must end now (a block decision on its caller): the target cancels it. */
  readonly signal?: CancelSignal;
}

/**
 * One configured connection's driver. It holds the credential; nothing it returns or
 * throws carries it. `run` throws PcxError: PCX_TARGET_ERROR (context `sqlstate`) when
 * the target refused the command, PCX_TARGET_UNAVAILABLE when it could not be reached.
 */
export interface Target {
  readonly facts: ConnectionFacts;
  run(command: string, params: readonly ResultValue[], options: RunOptions): Promise<ResultSet>;
  close(): Promise<void>;
}
