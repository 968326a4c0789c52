import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isPcxError, type PcxError } from '@portcullis/common';
import { pb } from '@portcullis/proto';
import { validateManifest } from '../src/manifests/report-manifest.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const manifest = (endpoints: string[]) => pb.AgentManifest.fromObject({ agentConfigHash: 'cfg-1', endpoints, env: [{ name: 'DB_PASSWORD', valueSha256: sha('x'), secretBearing: true }] });

function refusal(endpoints: string[]): PcxError {
  try {
    validateManifest(manifest(endpoints));
  } catch (e) {
    if (isPcxError(e)) return e;
    throw e;
  }
  throw new Error('expected the manifest to be refused');
}

describe('manifest endpoints never carry a secret onward', () => {
  it('accepts plain endpoints', () => {
    expect(() => validateManifest(manifest(['https://api.internal:443/v1', 'db.internal:5432', 'postgres://db.internal:5432/app', 's3://exports/daily']))).not.toThrow();
  });

  it('refuses user-info in a URL, naming the field and never echoing the value', () => {
    for (const url of ['postgres://app:hunter2@db.internal:5432/app', 'https://token@api.internal/', 'redis://:hunter2@cache:6379']) {
      const e = refusal(['https://ok.internal', url]);
      expect([e.code, e.context['field']]).toEqual(['PCX_BAD_REQUEST', 'endpoints[1]']);
      expect(e.message).toMatch(/credentials \(user-info\)/);
      expect(e.message).not.toContain('hunter2');
    }
  });

  it('refuses a token a masking detector recognises in a path or query', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const e = refusal([`https://api.internal/hook?auth=${jwt}`]);
    expect(e.message).toMatch(/a sensitive value \(jwt\)/);
    expect(e.message).not.toContain(jwt);
  });
});
