import { describe, it, expect } from 'vitest';
import { DeadLetter, encodeDecision, encodeEvent, pb } from '@portcullis/proto';
import type { BusRecord } from '@portcullis/bus';
import { backoffMs, deadLetterRecord, decodeRecord, PartitionProgress, tableForTopic, defaultSinkTopics } from '../src/index.js';

function rec(offset: string, value: Buffer | null, key: string | null = 'k', topic = 't'): BusRecord {
  return { topic, partition: 0, offset, key: key === null ? null : Buffer.from(key), value, timestamp: 1_000, headers: {} };
}

describe('decodeRecord', () => {
  it('turns each topic contract into a row', () => {
    const ev = decodeRecord('events', rec('0', encodeEvent({ eventId: 'e1', time: 5, identity: { subject: 'a' } })));
    expect(ev).toMatchObject({ kind: 'row', row: { event_id: 'e1', subject: 'a' } });
    const alert = JSON.stringify({ class_uid: 2004, time: 9, finding_info: { uid: 'al' } });
    expect(decodeRecord('alerts', rec('0', Buffer.from(alert)))).toMatchObject({ kind: 'row', row: { alert_id: 'al', raw: alert } });
    expect(decodeRecord('decisions', rec('3', encodeDecision({ decisionId: 'd', subject: 'credential:x' }), 'credential:x'))).toMatchObject({ kind: 'row', row: { decision_id: 'd', kafka_offset: '3', lifted: false } });
    expect(decodeRecord('decisions', rec('4', null, 'credential:x'))).toMatchObject({ kind: 'row', row: { lifted: true, subject: 'credential:x' } });
    expect(decodeRecord('approvals', rec('0', Buffer.from(pb.ApprovalState.encode({ status: pb.ApprovalStatus.APPROVAL_STATUS_APPROVED }).finish()), 'ap1'))).toMatchObject({ kind: 'row', row: { approval_id: 'ap1' } });
    expect(decodeRecord('approvals', rec('0', null))).toEqual({ kind: 'skip', reason: 'tombstone' });
  });

  it('returns a dead letter, never throws, for bytes that break the contract', () => {
    expect(decodeRecord('events', rec('0', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])))).toMatchObject({ kind: 'dead' });
    expect(decodeRecord('events', rec('0', Buffer.from('not a protobuf at all')))).toMatchObject({ kind: 'dead' });
    expect(decodeRecord('events', rec('0', encodeEvent({ time: 5 })))).toEqual({ kind: 'dead', reason: 'access event has no event_id' });
    expect(decodeRecord('events', rec('0', null))).toMatchObject({ kind: 'dead' });
    expect(decodeRecord('alerts', rec('0', Buffer.from('{oops')))).toEqual({ kind: 'dead', reason: 'alert is not JSON' });
    expect(decodeRecord('alerts', rec('0', Buffer.from([0xc3, 0x28])))).toMatchObject({ kind: 'dead' });
    expect(decodeRecord('decisions', rec('0', Buffer.from([0xff, 0xff, 0xff])))).toMatchObject({ kind: 'dead' });
  });

  it('keeps every changes record: a request, a tombstone, and unreadable bytes as a dead letter that still leaves a row', () => {
    const value = Buffer.from(pb.ChangeRequest.encode({ changeId: 'c1', scope: 'agent:a', kind: pb.ChangeKind.AGENT_MANIFEST, status: pb.ChangeStatus.CHANGE_APPROVED }).finish());
    expect(decodeRecord('changes', rec('2', value, 'c1'))).toMatchObject({ kind: 'row', row: { change_key: 'c1', change_id: 'c1', kind: 'AGENT_MANIFEST', tombstone: false, kafka_offset: '2', recorded_at: 1_000 } });
    expect(decodeRecord('changes', rec('3', null, 'c1'))).toMatchObject({ kind: 'row', row: { change_key: 'c1', tombstone: true, change_id: '' } });
    expect(decodeRecord('changes', rec('4', Buffer.from([0x0a, 0xff, 0xff]), 'c1'))).toMatchObject({ kind: 'dead', reason: expect.stringMatching(/^change is not a ChangeRequest/), row: { change_key: 'c1', undecodable: true, kafka_offset: '4' } });
  });
});

describe('deadLetterRecord', () => {
  it('keeps the original key and bytes and says where they came from and why', () => {
    const r = { ...rec('42', Buffer.from([1, 2, 3]), 'agent:a', 'portcullis.events'), partition: 3 };
    const out = deadLetterRecord(r, 'bad protobuf', 'portcullis-sink', 7);
    expect(out.key?.toString()).toBe('agent:a');
    const dl = DeadLetter.decode(out.value ?? Buffer.alloc(0));
    expect(dl).toMatchObject({ sourceTopic: 'portcullis.events', sourcePartition: 3, sourceOffset: '42', reason: 'bad protobuf', consumer: 'portcullis-sink', time: 7 });
    expect(Buffer.from(dl.value)).toEqual(Buffer.from([1, 2, 3]));
    expect(Buffer.from(dl.key).toString()).toBe('agent:a');
  });
});

describe('backoffMs', () => {
  it('doubles from initialMs and caps at maxMs', () => {
    const retry = { initialMs: 200, maxMs: 1_000 };
    expect([1, 2, 3, 4, 100].map((a) => backoffMs(a, retry))).toEqual([200, 400, 800, 1_000, 1_000]);
  });
});

describe('tableForTopic', () => {
  it('maps the configured topic names and nothing else', () => {
    const topics = { ...defaultSinkTopics, events: 'x.events' };
    expect(tableForTopic(topics, 'x.events')).toBe('events');
    expect(tableForTopic(topics, 'portcullis.decisions')).toBe('decisions');
    expect(tableForTopic(topics, 'portcullis.changes')).toBe('changes');
    expect(tableForTopic(topics, 'portcullis.events')).toBeUndefined();
  });
});

describe('PartitionProgress', () => {
  it('does not queue a redelivered batch again and waits on its queued write', async () => {
    const p = new PartitionProgress();
    const batch = [rec('10', null), rec('11', null)];
    expect(p.split('t', 0, batch).fresh).toHaveLength(2);
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    p.track('t', 0, '11', done);
    const again = p.split('t', 0, batch);
    expect(again.fresh).toEqual([]);
    expect(again.waitFor).toEqual([done]);
    // A batch that overlaps and extends: only the new offsets are fresh.
    expect(p.split('t', 0, [rec('11', null), rec('12', null)]).fresh.map((r) => r.offset)).toEqual(['12']);
    // Another partition is independent.
    expect(p.split('t', 1, batch).fresh).toHaveLength(2);
    release();
    await done;
    await Promise.resolve();
    expect(p.split('t', 0, batch)).toEqual({ fresh: [], waitFor: [] });
  });

  it('forgets a write abandoned at close so the rows are queued again', async () => {
    const p = new PartitionProgress();
    const failed = Promise.reject(new Error('closed'));
    p.track('t', 0, '5', failed);
    await failed.catch(() => {});
    await Promise.resolve();
    expect(p.split('t', 0, [rec('5', null)]).fresh).toHaveLength(1);
  });

  it('compares offsets as int64', () => {
    const p = new PartitionProgress();
    p.track('t', 0, '9007199254740993', new Promise<void>(() => {}));
    expect(p.split('t', 0, [rec('9007199254740994', null), rec('9007199254740993', null)]).fresh.map((r) => r.offset)).toEqual(['9007199254740994']);
  });
});
