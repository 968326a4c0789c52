import type { Metadata } from '@grpc/grpc-js';
import type { CallHeaders } from '../identity/authenticator.js';

/** The first string value of each metadata key (keys are lower-case in grpc-js). Binary keys are skipped. */
export function headersOf(metadata: Metadata): CallHeaders {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
