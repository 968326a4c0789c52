import { describe, it, expect } from 'vitest';
import { parseConfig, type PcxError } from '@portcullis/common';
import { decodeApprovalState, encodeApprovalState } from '../src/approvals/codec.js';
import { compileRules, evaluateApprovalRules, withApprovalRules } from '../src/approvals/rules.js';
import { castVote, checkRedeemable, effectiveStatus, expire, mergeStates, openApproval, redeem, type ApprovalState, type BoundCommand, type Outcome } from '../src/approvals/state.js';
import type { CommandFacts } from '../src/analysis/command-analyzer.js';
import type { PolicyContext } from '../src/policy/policy.js';
import { allowAllPolicy } from '../src/policy/policy.js';

const T0 = 1_700_000_000_000;
const TTL = 60_000;
const COMMAND: BoundCommand = { connection: 'prod-db', requester: 'agent-a', fingerprint: 'update items set price = ? where id = ?', commandText: 'UPDATE items SET price = 2 WHERE id = 1', commandSha256: 'a1'.repeat(32), destination: 'https://reports.internal' };
const dba1 = { subject: 'alice', groups: ['dba'] };
const dba2 = { subject: 'bob', groups: ['dba', 'oncall'] };
const dba3 = { subject: 'carol', groups: ['dba'] };

function open(required = 2): ApprovalState {
  return openApproval(
    {
      approvalId: 'ap-1',
      ...COMMAND,
      requesterCredentialId: 'tok-a',
      ruleId: 'prod-writes',
      reason: 'write in prod',
      requiredApprovals: required,
      approverGroups: ['dba'],
      environment: 'prod',
      sessionId: 's-1',
      requestId: 'r-1',
    },
    T0,
    TTL,
  );
}

function value<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`expected ok, got ${o.error.code}: ${o.error.message}`);
  return o.value;
}

function error<T>(o: Outcome<T>): PcxError {
  if (o.ok) throw new Error('expected a refusal');
  return o.error;
}

describe('approval state machine', () => {
  it('opens pending with the TTL from the injected clock', () => {
    const s = open();
    expect(s.status).toBe('pending');
    expect(s.request.createdAt).toBe(T0);
    expect(s.request.expiresAt).toBe(T0 + TTL);
    expect(effectiveStatus(s, T0 + TTL - 1)).toBe('pending');
    expect(effectiveStatus(s, T0 + TTL)).toBe('expired');
  });

  it('needs N distinct approvers (2 of 3)', () => {
    const one = value(castVote(open(2), dba1, 'approve', 'ok', T0 + 1));
    expect(one.status).toBe('pending');
    const two = value(castVote(one, dba2, 'approve', '', T0 + 2));
    expect(two.status).toBe('approved');
    expect(two.votes.map((v) => v.approver)).toEqual(['alice', 'bob']);
  });

  it('refuses self-approval with PCX_FORBIDDEN even when the requester is in an approver group', () => {
    const e = error(castVote(open(), { subject: 'agent-a', groups: ['dba'] }, 'approve', '', T0 + 1));
    expect(e.code).toBe('PCX_FORBIDDEN');
    expect(e.message).toMatch(/own request/);
  });

  it('refuses a voter outside the approver groups', () => {
    const e = error(castVote(open(), { subject: 'mallory', groups: ['etl'] }, 'approve', '', T0 + 1));
    expect(e.code).toBe('PCX_FORBIDDEN');
    expect(e.message).toMatch(/groups dba/);
  });

  it('refuses a second vote by the same approver as "already voted", not a second approval', () => {
    const one = value(castVote(open(2), dba1, 'approve', '', T0 + 1));
    const e = error(castVote(one, dba1, 'approve', '', T0 + 2));
    expect(e.code).toBe('PCX_BAD_REQUEST');
    expect(e.message).toMatch(/already voted/);
    // And after the request is approved, too.
    const approved = value(castVote(one, dba2, 'approve', '', T0 + 3));
    expect(error(castVote(approved, dba2, 'approve', '', T0 + 4)).message).toMatch(/already voted/);
  });

  it('one deny ends the request; later votes are refused with the status', () => {
    const denied = value(castVote(open(2), dba1, 'deny', 'not now', T0 + 1));
    expect(denied.status).toBe('denied');
    const e = error(castVote(denied, dba2, 'approve', '', T0 + 2));
    expect(e.code).toBe('PCX_BAD_REQUEST');
    expect(e.message).toMatch(/is denied/);
    const r = error(checkRedeemable(denied, COMMAND, T0 + 3));
    expect(r.code).toBe('PCX_FORBIDDEN');
    expect(r.message).toMatch(/denied by alice: not now/);
  });

  it('expires: no votes after expires_at, and an approved but unused approval lapses', () => {
    const late = error(castVote(open(1), dba1, 'approve', '', T0 + TTL));
    expect(late.code).toBe('PCX_BAD_REQUEST');
    expect(late.context['status']).toBe('expired');
    const approved = value(castVote(open(1), dba1, 'approve', '', T0 + 1));
    expect(value(checkRedeemable(approved, COMMAND, T0 + TTL - 1)).status).toBe('approved');
    const e = error(redeem(approved, COMMAND, 'r-2', T0 + TTL));
    expect(e.code).toBe('PCX_BAD_REQUEST');
    expect(e.message).toMatch(/is expired/);
    expect(expire(approved, T0 + TTL)?.status).toBe('expired');
    expect(expire(approved, T0 + 5)).toBeUndefined();
  });

  it('binds exactly one command: text, fingerprint, connection, requester and destination must all match', () => {
    const approved = value(castVote(open(1), dba1, 'approve', '', T0 + 1));
    const cases: Array<[Partial<BoundCommand>, string]> = [
      [{ commandSha256: 'b2'.repeat(32) }, 'text'],
      [{ destination: 'https://paste.example' }, 'destination'],
      [{ fingerprint: 'update items set price = ?' }, 'fingerprint'],
      [{ connection: 'other-db' }, 'connection'],
      [{ requester: 'agent-b' }, 'requester'],
    ];
    for (const [change, field] of cases) {
      const e = error(redeem(approved, { ...COMMAND, ...change }, 'r-2', T0 + 2));
      expect(e.code).toBe('PCX_FORBIDDEN');
      expect(e.context['mismatch']).toBe(field);
    }
  });

  it('is used once: the run marks it USED and a second redemption is refused', () => {
    const approved = value(castVote(open(1), dba1, 'approve', '', T0 + 1));
    const used = value(redeem(approved, COMMAND, 'r-2', T0 + 2));
    expect(used.status).toBe('used');
    expect(used.usedByRequestId).toBe('r-2');
    const e = error(redeem(used, COMMAND, 'r-3', T0 + 3));
    expect(e.code).toBe('PCX_BAD_REQUEST');
    expect(e.context['status']).toBe('used');
  });

  it('a pending approval cannot be redeemed (PCX_APPROVAL_REQUIRED with progress)', () => {
    const one = value(castVote(open(2), dba1, 'approve', '', T0 + 1));
    const e = error(redeem(one, COMMAND, 'r-2', T0 + 2));
    expect(e.code).toBe('PCX_APPROVAL_REQUIRED');
    expect(e.message).toMatch(/1 of 2/);
  });

  it('merges concurrent votes from two replicas into one approved state, in either order', () => {
    const base = open(2);
    const a = value(castVote(base, dba1, 'approve', '', T0 + 1));
    const b = value(castVote(base, dba3, 'approve', '', T0 + 2));
    const ab = mergeStates(a, b);
    const ba = mergeStates(b, a);
    expect(ab.status).toBe('approved');
    expect(ba.status).toBe('approved');
    expect(ab.votes.map((v) => v.approver)).toEqual(ba.votes.map((v) => v.approver));
    const used = value(redeem(ab, COMMAND, 'r-9', T0 + 3));
    expect(mergeStates(ab, used).status).toBe('used');
    expect(mergeStates(used, ab).status).toBe('used');
    expect(mergeStates(used, used)).toEqual(used);
  });

  it('round-trips through the protobuf on the topic', () => {
    const s = value(castVote(open(2), dba1, 'approve', 'fine', T0 + 1));
    expect(decodeApprovalState(encodeApprovalState(s))).toEqual(s);
    expect(() => decodeApprovalState(Buffer.from('not a protobuf at all'))).toThrow();
  });
});

const facts = (f: Partial<CommandFacts>): CommandFacts => ({ fingerprint: '', statementType: 'SELECT', tables: [], isWrite: false, hasWhere: false, hasLimit: false, riskTags: [], parsed: true, ...f });
const ctx = (f: Partial<CommandFacts>, connection = 'main'): PolicyContext => ({
  requestId: 'r',
  sessionId: 's',
  identity: { subject: 'agent-a', kind: 'agent', groups: [], credentialId: 'tok-a', issuer: 'x' },
  origin: { peerIp: '', peerPort: 0, declaredHost: '', containerId: '', process: '', userAgent: '', agentConfigHash: '' },
  connection: { name: connection, kind: 'postgres' },
  access: 'write',
  command: 'x',
  facts: facts(f),
});

describe('approval rules', () => {
  const approvals = parseConfig({
    gateway: {
      approvals: {
        approvers: ['dba'],
        rules: [
          { id: 'prod-writes', when: { environment: ['prod'], isWrite: true }, approvals: 2 },
          { id: 'sensitive-bulk', when: { tables: ['customers', 'pii_*'], missingLimit: true, isWrite: false }, approverGroups: ['privacy'], ttlMs: 5_000, reason: 'bulk read of a sensitive table' },
          { id: 'risky', when: { riskTags: ['no-where'] } },
        ],
      },
    },
  }).gateway.approvals;
  const rules = compileRules(approvals);

  it('holds a write in prod with the rule, N and default approver groups', () => {
    expect(evaluateApprovalRules(rules, ctx({ isWrite: true, statementType: 'UPDATE', hasWhere: true }), 'prod')).toEqual({
      action: 'hold',
      ruleId: 'prod-writes',
      reason: 'UPDATE matches approval rule prod-writes',
      requiredApprovals: 2,
      approverGroups: ['dba'],
    });
    expect(evaluateApprovalRules(rules, ctx({ isWrite: true, hasWhere: true }), 'dev')).toBeUndefined();
  });

  it('holds a read of a sensitive table without LIMIT (globs, schema-qualified names), not with LIMIT', () => {
    const hold = evaluateApprovalRules(rules, ctx({ tables: ['public.pii_cards'] }), 'dev');
    expect(hold).toMatchObject({ ruleId: 'sensitive-bulk', approverGroups: ['privacy'], ttlMs: 5_000, requiredApprovals: 1 });
    expect(evaluateApprovalRules(rules, ctx({ tables: ['Customers'] }), 'dev')?.ruleId).toBe('sensitive-bulk');
    expect(evaluateApprovalRules(rules, ctx({ tables: ['customers'], hasLimit: true }), 'dev')).toBeUndefined();
    expect(evaluateApprovalRules(rules, ctx({ tables: ['orders'] }), 'dev')).toBeUndefined();
  });

  it('holds on a risk tag', () => {
    expect(evaluateApprovalRules(rules, ctx({ riskTags: ['no-where'], isWrite: true }), 'dev')?.ruleId).toBe('risky');
  });

  it('a denial from the inner policy wins over a hold', async () => {
    const deny = { evaluate: () => ({ action: 'deny' as const, code: 'PCX_GUARDRAIL_DENIED' as const, rule: 'g', message: 'no' }) };
    expect((await withApprovalRules(deny, approvals, 'prod').evaluate(ctx({ isWrite: true }))).action).toBe('deny');
    expect((await withApprovalRules(allowAllPolicy, approvals, 'prod').evaluate(ctx({ isWrite: true }))).action).toBe('hold');
    expect((await withApprovalRules(allowAllPolicy, approvals, 'prod').evaluate(ctx({}))).action).toBe('allow');
  });

  it('rejects a misspelt condition in config', () => {
    expect(() => parseConfig({ gateway: { approvals: { rules: [{ id: 'x', when: { isWrites: true } }] } } })).toThrow(/isWrites/);
  });
});
