/**
 * The name of a protobuf enum value, as stored in LowCardinality columns. Unspecified (0)
 * and unknown numbers (a newer producer) become '' and `UNKNOWN_<n>`, so a row is never
 * refused for an enum it does not know.
 */
export function enumName(values: Readonly<Record<string, number | string>>, n: number | null | undefined, lower = false): string {
  if (!n) return '';
  const name = values[n];
  const s = typeof name === 'string' ? name : `UNKNOWN_${n}`;
  return lower ? s.toLowerCase() : s;
}
