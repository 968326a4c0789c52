import type { Policy, PolicyVerdict } from '../policy/policy.js';

/**
 * What a decision view that is not synced with portcullis.decisions may serve, as a
 * policy in front of the configured one (so the refusal is published as a REQUEST with
 * its rule, like any denial):
 *  - `requireSync`: nothing; every command is refused until the view is synced
 *    (operators who prefer to fail closed);
 *  - otherwise normal connections run with the last known decisions (the snapshot) and
 *    `audit: strict` connections are refused, since they need the broker anyway.
 * Blocks in the snapshot are enforced before this runs (the pipeline's decision check).
 */
export function withDecisionSync(inner: Policy, opts: { readonly isSynced: () => boolean; readonly requireSync: boolean; readonly strictConnections: ReadonlySet<string> }): Policy {
  return {
    evaluate(ctx) {
      if (opts.isSynced()) return inner.evaluate(ctx);
      if (opts.requireSync) return unsynced(`decision view not synced with the broker; this gateway refuses commands until it is (gateway.decisions.requireSync)`);
      if (opts.strictConnections.has(ctx.connection.name)) {
        return unsynced(`decision view not synced with the broker; connection ${ctx.connection.name} requires audited commands, so it was not run`);
      }
      return inner.evaluate(ctx);
    },
  };
}

function unsynced(message: string): PolicyVerdict {
  return { action: 'deny', code: 'PCX_AUDIT_UNAVAILABLE', rule: 'decisions.unsynced', message };
}
