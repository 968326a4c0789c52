import './numbers.js';
import { portcullis } from '../gen/portcullis.js';
import { decodeAccessEvent } from './event-decoder.js';

const { AccessEvent, Decision } = portcullis.v1;

/** Topic values are protobuf bytes; these are the only encode/decode entry points. */
export function encodeEvent(e: portcullis.v1.IAccessEvent): Buffer {
  const w = AccessEvent.encode(e).finish();
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

/**
 * Throws on bytes that are not an AccessEvent; callers route those to the dead-letter topic.
 * Returns and throws exactly what AccessEvent.decode does, faster (event-decoder.ts).
 */
export function decodeEvent(b: Uint8Array): portcullis.v1.AccessEvent {
  return decodeAccessEvent(b);
}

export function encodeDecision(d: portcullis.v1.IDecision): Buffer {
  const w = Decision.encode(d).finish();
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

export function decodeDecision(b: Uint8Array): portcullis.v1.Decision {
  return Decision.decode(b);
}
