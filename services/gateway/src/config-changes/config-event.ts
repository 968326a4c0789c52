import { uuidv7 } from '@portcullis/common';
import { encodeEvent, Phase, type IAccessEvent } from '@portcullis/proto';
import { changedSections, type ConfigDigest } from './config-digest.js';

/**
 * The CONFIG AccessEvent: a gateway's config digest at start (old digest unknown, empty)
 * or after a change (old digest and the changed sections). Keyed `gateway:<id>` on
 * portcullis.events, so the config-drift detector keeps one baseline per gateway.
 */
export function configEvent(opts: { gatewayId: string; environment: string; previous?: ConfigDigest; current: ConfigDigest; now: number }): IAccessEvent {
  return {
    eventId: uuidv7(opts.now),
    requestId: uuidv7(opts.now),
    time: opts.now,
    phase: Phase.CONFIG,
    environment: opts.environment,
    gatewayId: opts.gatewayId,
    configChange: {
      gatewayId: opts.gatewayId,
      oldDigest: opts.previous?.digest ?? '',
      newDigest: opts.current.digest,
      changed: opts.previous ? changedSections(opts.previous, opts.current) : [],
      sections: opts.current.sections.map((s) => ({ ...s })),
    },
  };
}

export function configEventRecord(e: IAccessEvent): { key: string; value: Buffer; timestamp: number } {
  return { key: `gateway:${e.configChange?.gatewayId ?? e.gatewayId ?? ''}`, value: encodeEvent(e), timestamp: Number(e.time) };
}
