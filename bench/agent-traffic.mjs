// The bench fleet's traffic, shared by bench/detectors-throughput.mjs and
// bench/event-decode.mjs: agents run sessions of a few commands; each command is a
// REQUEST (tables, WHERE/LIMIT, statement type) and its RESPONSE (rows, bytes, PII counts,
// destination); a session opens with an agent manifest now and then; a few agents read
// from new origins, pull bulk rows or send card numbers to a new destination, so
// findings, the aggregator and decisions are exercised too. Seeded: the same arguments
// give the same events.
import { ConnectionKind, encodeEvent, IdentityKind, Phase } from '@portcullis/proto';

export const TRAFFIC_T0 = Date.UTC(2026, 0, 5);
const TABLES = ['orders', 'customers', 'payments', 'items', 'refunds', 'payroll', 'invoices', 'shipments', 'audit_log', 'vendors'];
const DESTINATIONS = ['app', 'report-svc', 'warehouse', 's3://exports'];

const hex = (n, w) => n.toString(16).padStart(w, '0');

/** `events` encoded AccessEvents of `agents` agents, each with its partition (agent % partitions). */
export function agentTraffic({ events, agents, partitions = 1 }) {
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

  // Per agent: current session and how many commands are left in it.
  const session = new Int32Array(agents).fill(-1);
  const left = new Int32Array(agents);
  const encoded = [];
  const partitionOf = [];
  let manifests = 0;
  let t = TRAFFIC_T0;
  for (let i = 0; encoded.length < events; i++) {
    const a = Math.floor(rand() * agents);
    t += 250 + Math.floor(rand() * 500);
    const identity = { subject: `agent:${a}`, kind: IdentityKind.AGENT, credentialId: `tok_${a}`, groups: ['agents'], issuer: 'https://idp.example' };
    const o = Math.floor(rand() * (1 + (a % 3)));
    const rogue = rand() < 0.0005;
    const origin = { peerIp: `10.${(a >> 8) & 255}.${a & 255}.${rogue ? 200 : o}`, peerPort: 40000 + (i % 20000), declaredHost: `worker-${a}-${rogue ? 'x' : o}`, containerId: `ctr-${a}-${o}`, process: 'agent' };
    const base = { environment: 'bench', gatewayId: `gw-${a % 3}`, identity, origin, connection: { name: 'orders', kind: ConnectionKind.POSTGRES, targetHost: 'db:5432', targetDb: 'orders' } };
    const id = () => `0190f0a0-${hex(encoded.length >>> 16, 4)}-7${hex((encoded.length >>> 4) & 0xfff, 3)}-8${hex(encoded.length & 0xf, 3)}-${hex(a, 12)}`;
    const push = (e) => {
      encoded.push(encodeEvent(e));
      partitionOf.push(a % partitions);
    };
    if (left[a] <= 0) {
      session[a] = i;
      left[a] = 3 + Math.floor(rand() * 20);
      if (rand() < 0.2) {
        manifests++;
        push({ ...base, eventId: id(), sessionId: `s${a}-${i}`, time: t, phase: Phase.MANIFEST, manifest: { agentConfigHash: `cfg-${a % 50}`, endpoints: ['https://api.example/v1', 'db:5432'], env: [{ name: 'DB_URL', valueSha256: hex(a, 64), secretBearing: true }, { name: 'LOG_LEVEL', valueSha256: hex(1, 64) }], reportedAt: t - 40, sessionId: `s${a}-${i}` } });
        if (encoded.length >= events) break;
      }
    }
    left[a]--;
    const sessionId = `s${a}-${session[a]}`;
    const table = TABLES[(a + Math.floor(rand() * rand() * 4)) % TABLES.length];
    const second = rand() < 0.2 ? [TABLES[(a + 1) % TABLES.length]] : [];
    const bulk = rand() < 0.0005;
    const filtered = !bulk && rand() < 0.9;
    const command = { fingerprint: `SELECT * FROM ${table} WHERE id = $1 LIMIT $2`, statementType: 'SELECT', tables: [table, ...second], hasWhere: filtered, hasLimit: filtered, riskTags: [] };
    const requestId = `r${i}`;
    push({ ...base, eventId: id(), requestId, sessionId, time: t, phase: Phase.REQUEST, command });
    if (encoded.length >= events) break;
    const rows = bulk ? 250_000 : 1 + Math.floor(rand() * 40);
    const leak = rand() < 0.0003;
    const pii = leak ? [{ detector: 'card', count: 500 }] : rand() < 0.3 ? [{ detector: 'email', count: 1 + Math.floor(rand() * rows) }] : [];
    const destination = leak ? `https://paste.example/${a}` : DESTINATIONS[a % DESTINATIONS.length];
    push({ ...base, eventId: id(), requestId, sessionId, time: t + 2 + Math.floor(rand() * 30), phase: Phase.RESPONSE, command, response: { rows, bytes: 120 * rows + Math.floor(rand() * 400), durationMs: 0.5 + rand() * 3, pii, maskedFields: pii.length ? ['email'] : [], destination } });
  }
  return { encoded, partitionOf, manifests };
}
