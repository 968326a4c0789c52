import { describe, it, expect } from 'vitest';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { PcxError } from '@portcullis/common';
import { fromGrpcError, toGrpcStatus } from '../src/grpc/status.js';

describe('toGrpcStatus', () => {
  it('maps a PcxError to its grpc status, CODE: message details and the pcx-code trailer', () => {
    const s = toGrpcStatus(new PcxError('PCX_BLOCKED_BY_DECISION', 'blocked by decision d1'));
    expect(s.code).toBe(status.PERMISSION_DENIED);
    expect(s.details).toBe('PCX_BLOCKED_BY_DECISION: blocked by decision d1');
    expect(s.metadata.get('pcx-code')).toEqual(['PCX_BLOCKED_BY_DECISION']);
  });

  it.each([
    ['PCX_AUTH_MISSING', status.UNAUTHENTICATED],
    ['PCX_CONNECTION_UNKNOWN', status.NOT_FOUND],
    ['PCX_PAYLOAD_TOO_LARGE', status.RESOURCE_EXHAUSTED],
    ['PCX_TARGET_UNAVAILABLE', status.UNAVAILABLE],
    ['PCX_TARGET_ERROR', status.FAILED_PRECONDITION],
  ] as const)('%s → %i', (code, expected) => {
    expect(toGrpcStatus(new PcxError(code, 'x')).code).toBe(expected);
  });

  it('hides the message of anything that is not a PcxError', () => {
    const s = toGrpcStatus(new Error('password=hunter2 leaked'));
    expect(s.code).toBe(status.INTERNAL);
    expect(s.details).toBe('PCX_INTERNAL: internal error');
    expect(s.details).not.toContain('hunter2');
  });
});

describe('fromGrpcError', () => {
  function serviceError(code: number, details: string, trailer?: string): ServiceError {
    const metadata = new Metadata();
    if (trailer) metadata.set('pcx-code', trailer);
    return Object.assign(new Error(details), { code, details, metadata });
  }

  it('rebuilds the PcxError from the trailer and strips the code prefix', () => {
    const e = fromGrpcError(serviceError(status.NOT_FOUND, 'PCX_CONNECTION_UNKNOWN: no connection named "x"', 'PCX_CONNECTION_UNKNOWN'));
    expect(e.code).toBe('PCX_CONNECTION_UNKNOWN');
    expect(e.message).toBe('no connection named "x"');
  });

  it('falls back to the status when the trailer is missing or unknown', () => {
    expect(fromGrpcError(serviceError(status.UNAVAILABLE, 'No connection established')).code).toBe('PCX_TARGET_UNAVAILABLE');
    expect(fromGrpcError(serviceError(status.UNAUTHENTICATED, 'nope', 'PCX_MADE_UP')).code).toBe('PCX_AUTH_INVALID');
  });
});
