// Masking throughput on a 10k-row × 8-column result with mixed PII and plain text,
// against pass-through (copying each row) in the same run. Uses the built packages:
//   npm run build && node bench/masking-throughput.mjs
import { Secret } from '@portcullis/common';
import { createRowMasker } from '@portcullis/masking';
import { report } from './lib.mjs';

const ROWS = 10_000;
const ROUNDS = Number(process.env.ROUNDS ?? 7);

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const digits = (n) => Array.from({ length: n }, () => int(0, 9)).join('');
function luhn(body) {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}
const card = () => { const b = '4' + digits(14); return (b + luhn(b)).match(/.{4}/g).join(' '); };
const ssn = () => `${int(100, 665)}-${String(int(1, 99)).padStart(2, '0')}-${String(int(1, 9999)).padStart(4, '0')}`;
const WORDS = 'the order shipped late customer asked for refund via support ticket warehouse north region delayed invoice approved'.split(' ');
const words = (n) => Array.from({ length: n }, () => WORDS[int(0, WORDS.length - 1)]).join(' ');

// id, name, email, note (free text, PII in ~1 of 4), phone, city, amount, tax (lineage → ssn)
const columns = ['id', 'name', 'email', 'note', 'phone', 'city', 'amount', 'tax_ref'];
const rows = [];
for (let i = 0; i < ROWS; i++) {
  const k = i % 4;
  const note = k === 0 ? `${words(6)} card ${card()} ${words(3)}` : k === 1 ? `${words(5)} contact ${'u' + i}@example.com` : words(10);
  rows.push([i, `Name ${words(2)}`, `user${i}@example.org`, note, `+1 ${int(200, 999)} ${int(200, 999)} ${digits(4)}`, words(1), int(1, 1e6) / 100, ssn()]);
}
const rules = { columns: [{ column: 'email', label: 'email', action: 'token' }, { column: '*ssn*', label: 'ssn', action: 'partial' }] };
const lineage = { tax_ref: [{ table: 'customers', column: 'ssn' }] };
const key = new Secret('bench-key-0123456789abcdef', 'bench');

function passThrough() {
  let sink = 0;
  for (const r of rows) sink += r.slice().length;
  return sink;
}
function serialize() {
  let sink = 0;
  for (const r of rows) sink += JSON.stringify(r).length;
  return sink;
}
function unmasked() {
  const m = createRowMasker({ columns, rules, lineage, key, unmask: true });
  for (const r of rows) m.maskRow(r);
  return m.summary();
}
function mask() {
  const m = createRowMasker({ columns, rules, lineage, key });
  for (const r of rows) m.maskRow(r);
  return m.summary();
}
const time = (f) => { const s = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - s) / 1e9; };
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (let i = 0; i < 3; i++) { passThrough(); mask(); }
const tp = [], tm = [], ts = [], tu = [];
for (let i = 0; i < ROUNDS; i++) { tp.push(time(passThrough)); tm.push(time(mask)); ts.push(time(serialize)); tu.push(time(unmasked)); }
const pRate = ROWS / median(tp);
const mRate = ROWS / median(tm);
console.log(JSON.stringify(mask()));
console.log(`rows=${ROWS} cols=${columns.length} rounds=${ROUNDS}`);
console.log(`pass-through: ${Math.round(pRate).toLocaleString('en')} rows/s (median ${(median(tp) * 1e3).toFixed(2)} ms)`);
console.log(`masking:      ${Math.round(mRate).toLocaleString('en')} rows/s (median ${(median(tm) * 1e3).toFixed(2)} ms, ${(median(tm) / ROWS * 1e6).toFixed(2)} µs/row)`);
console.log(`ratio masking/pass-through time: ${(median(tm) / median(tp)).toFixed(1)}x`);
console.log(`context: JSON.stringify per row ${Math.round(ROWS / median(ts)).toLocaleString('en')} rows/s; break-glass (detect and count, no replace) ${Math.round(ROWS / median(tu)).toLocaleString('en')} rows/s`);
report({ name: 'masking throughput, 10k rows x 8 columns', value: mRate, unit: 'rows/s', baseline: 'pass-through (copy each row)', baselineValue: pRate, ratio: mRate / pRate, jsonStringifyRowsPerSec: ROWS / median(ts), breakGlassRowsPerSec: ROWS / median(tu) });
