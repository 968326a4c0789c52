import type { IExecResponse, IValue } from '@portcullis/proto';
import type { ExecOutput } from '../exec/pipeline.js';
import type { ResultValue } from '../targets/target.js';

export function toProtoValue(v: ResultValue): IValue {
  if (v === null) return { null: true };
  if (typeof v === 'string') return { text: v };
  if (typeof v === 'number') return { number: v };
  return { boolean: v };
}

/** A parameter from the wire; an unset oneof is SQL NULL. */
export function fromProtoValue(v: IValue): ResultValue {
  if (v.text !== undefined && v.text !== null) return v.text;
  if (v.number !== undefined && v.number !== null) return v.number;
  if (v.boolean !== undefined && v.boolean !== null) return v.boolean;
  return null;
}

export function toExecResponse(out: ExecOutput): IExecResponse {
  return {
    requestId: out.requestId,
    sessionId: out.sessionId,
    columns: out.result.columns.map((c) => ({ name: c.name, type: c.type })),
    rows: out.result.rows.map((r) => ({ values: r.map(toProtoValue) })),
    rowCount: out.result.rowCount,
    commandTag: out.result.commandTag,
    durationMs: out.durationMs,
  };
}
