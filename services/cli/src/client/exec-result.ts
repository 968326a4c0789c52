import type { IExecResponse, IValue } from '@portcullis/proto';
import type { Cell } from '../output/table.js';

/** An ExecResponse as the CLI prints it: plain column names and JS cells. */
export interface ExecResult {
  requestId: string;
  sessionId: string;
  columns: Array<{ name: string; type: string }>;
  rows: Cell[][];
  rowCount: number;
  commandTag: string;
  durationMs: number;
}

export function valueToCell(v: IValue | null | undefined): Cell {
  if (!v) return null;
  // A decoded message names its oneof member; a plain object may not, so fall back.
  switch ((v as { kind?: string }).kind) {
    case 'null':
      return null;
    case 'text':
      return v.text ?? '';
    case 'number':
      return v.number ?? 0;
    case 'boolean':
      return v.boolean ?? false;
  }
  if (v.null) return null;
  if (v.text !== undefined && v.text !== null) return v.text;
  if (v.number !== undefined && v.number !== null) return v.number;
  if (v.boolean !== undefined && v.boolean !== null) return v.boolean;
  return null;
}

export function toExecResult(r: IExecResponse): ExecResult {
  return {
    requestId: r.requestId ?? '',
    sessionId: r.sessionId ?? '',
    columns: (r.columns ?? []).map((c) => ({ name: c.name ?? '', type: c.type ?? '' })),
    rows: (r.rows ?? []).map((row) => (row.values ?? []).map(valueToCell)),
    rowCount: Number(r.rowCount ?? 0),
    commandTag: r.commandTag ?? '',
    durationMs: r.durationMs ?? 0,
  };
}
