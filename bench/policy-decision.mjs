// Figures: policy decision time (statement analysis + the default guardrail pack) for a
// statement shape seen before and for a new shape under 2 KB. Budgets (ARCHITECTURE.md):
// seen shape p50 ≤ 20 µs; new shape p99 ≤ 1 ms.
// Baseline (same run): pass-through — the cheapest thing a gateway does per command
// anyway, hashing the statement text (SHA-1) and a Map lookup.
//   npm run build && node bench/policy-decision.mjs
import { createHash } from 'node:crypto';
import { createAnalysisCache, defaultRules, evaluateGuardrails } from '@portcullis/policy';
import { report, summarize } from './lib.mjs';

const rules = defaultRules();
const ctx = { connection: 'bench', protectedObjects: ['users', 'billing.*'], onUnparseable: 'deny' };
const seen = (i) => `SELECT u.id, u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = ${i} AND o.status = 'open' ORDER BY o.created_at DESC LIMIT 50`;
const fresh = (i) => `SELECT u.id, u.email_${i}, o.total_${i}, count(*) AS n FROM users_${i} u JOIN orders o ON o.user_id = u.id LEFT JOIN items it ON it.order_id = o.id WHERE u.region_${i} IN ('eu', 'us') AND o.created_at > now() - interval '30 days' AND (o.flag_${i} IS NULL OR o.flag_${i} = false) AND o.id IN (SELECT order_id FROM refunds r WHERE r.amount_${i} > 10) GROUP BY u.id, u.email_${i}, o.total_${i} HAVING sum(it.qty) > 3 ORDER BY 2 DESC LIMIT 100`;

function time(texts, fn) {
  const lat = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const t0 = process.hrtime.bigint();
    fn(texts[i]);
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return summarize(lat);
}

const table = new Map();
const passThrough = (t) => table.get(createHash('sha1').update(t).digest('base64')) ?? table.size;
const decide = (cache) => (t) => {
  const v = evaluateGuardrails(cache.analyze(t, 'postgres'), rules, ctx);
  if (v.action !== 'allow') throw new Error(`unexpected denial: ${v.message}`);
};

const cache = createAnalysisCache();
for (let i = 0; i < 3000; i++) decide(cache)(seen(1e6 + i)); // warm: the shape is now known
const seenTexts = Array.from({ length: 20000 }, (_, i) => seen(i + 10));
const freshTexts = Array.from({ length: 3000 }, (_, i) => fresh(i));
time(seenTexts.slice(0, 2000), passThrough);
const base = time(seenTexts, passThrough);
const hit = time(seenTexts, decide(cache));
const miss = time(freshTexts, decide(cache));
const freshBase = time(freshTexts, passThrough);

report({ name: 'policy decision, seen shape p50', value: hit.p50, unit: 'µs', baseline: 'pass-through (hash + map lookup) p50', baselineValue: base.p50, ratio: hit.p50 / base.p50, budget: '≤ 20 µs' });
report({ name: 'policy decision, seen shape p99', value: hit.p99, unit: 'µs', baseline: 'pass-through p99', baselineValue: base.p99, ratio: hit.p99 / base.p99 });
report({ name: `policy decision, new shape (${fresh(1).length} B) p99`, value: miss.p99, unit: 'µs', baseline: 'pass-through p99', baselineValue: freshBase.p99, ratio: miss.p99 / freshBase.p99, budget: '≤ 1000 µs' });
report({ name: `policy decision, new shape (${fresh(1).length} B) p50`, value: miss.p50, unit: 'µs', baseline: 'pass-through p50', baselineValue: freshBase.p50, ratio: miss.p50 / freshBase.p50 });
