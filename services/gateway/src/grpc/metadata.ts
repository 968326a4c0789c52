import type { Metadata } from '@grpc/grpc-js';
import type { CallHeaders } from '../identity/authenticator.js';

/** The first string value of each metadata key (keys are lower-case in grpc-js). Binary keys are skipped. */
export function headersOf(metadata: Metadata): CallHeaders {
  const map = metadata.getMap();
  const out: Record<string, string> = {};
  for (const k in map) {
    const v = map[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
