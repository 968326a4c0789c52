/**
 * Key material (discovery documents, key sets) must come over https: over plain http
 * anyone on the path could substitute keys. Loopback is the exception, for tests and a
 * local sidecar. No imports, so the config schema can use it wherever it is mounted.
 */
export function isSecureUrl(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  if (u.protocol === 'https:') return true;
  const loopback = u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
  return u.protocol === 'http:' && loopback;
}
