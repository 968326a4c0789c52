import { describe, expect, it } from 'vitest';
import { parseConfig, PcxError, stateTopic } from '../src/index.js';

describe('detector state changelogs are per consumer group', () => {
  it('names the changelog after the group and the detector', () => {
    expect(stateTopic('portcullis-detectors', 'timing')).toBe('portcullis.state.portcullis-detectors.timing');
    expect(stateTopic('team-b', 'timing')).not.toBe(stateTopic('team-a', 'timing'));
  });

  it('refuses a group id that cannot be part of a topic name, naming the key', () => {
    let err: unknown;
    try {
      parseConfig({ detectors: { groupId: 'my detectors/prod' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PcxError);
    expect((err as PcxError).code).toBe('PCX_CONFIG_INVALID');
    expect((err as PcxError).message).toContain('detectors.groupId');
    expect(parseConfig({ detectors: { groupId: 'team-a.detectors_1' } }).detectors.groupId).toBe('team-a.detectors_1');
  });
});
