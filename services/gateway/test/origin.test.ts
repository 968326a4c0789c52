import { describe, it, expect } from 'vitest';
import { originOf, parsePeer } from '../src/origin/origin.js';
import { subjectsOf } from '../src/decisions/subjects.js';

describe('parsePeer', () => {
  it.each([
    ['127.0.0.1:5555', '127.0.0.1', 5555],
    ['ipv4:10.1.2.3:80', '10.1.2.3', 80],
    ['[::1]:6000', '::1', 6000],
    ['ipv6:[2001:db8::7]:443', '2001:db8::7', 443],
    ['[::ffff:192.168.0.9]:7000', '192.168.0.9', 7000],
    ['2001:db8::1', '2001:db8::1', 0],
    ['unix:/tmp/gw.sock', '', 0],
  ])('%s → %s port %i', (peer, ip, port) => {
    expect(parsePeer(peer)).toEqual({ ip, port });
  });
});

describe('originOf', () => {
  it('takes declared values from metadata and caps their length', () => {
    const o = originOf('127.0.0.1:4000', {
      'x-portcullis-host': 'build-7',
      'x-portcullis-container': 'c'.repeat(1000),
      'x-portcullis-process': 'agent.py',
      'x-portcullis-config-hash': 'abc',
      'user-agent': 'grpc-node-js/1.14',
    });
    expect(o).toMatchObject({ peerIp: '127.0.0.1', peerPort: 4000, declaredHost: 'build-7', process: 'agent.py', agentConfigHash: 'abc', userAgent: 'grpc-node-js/1.14' });
    expect(o.containerId).toHaveLength(256);
  });

  it('gives the decision subjects in topic key form', () => {
    const origin = originOf('10.0.0.5:1', { 'x-portcullis-host': 'h', 'x-portcullis-container': 'c1' });
    const identity = { subject: 'agent-a', kind: 'agent' as const, groups: [], credentialId: 'tok1', issuer: 'i' };
    expect(subjectsOf(identity, origin, 's1')).toEqual(['credential:tok1', 'identity:agent-a', 'origin:10.0.0.5|h|c1', 'session:s1']);
  });
});
