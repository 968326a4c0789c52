/**
 * Object-name globs: `*` matches within one name part, `**` across parts, `?` one
 * character. A pattern without a dot also matches the last part of a qualified name, so
 * `users` protects `public.users` and `users` alike (the search path is not known here).
 */
const cache = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*' && pattern[i + 1] === '*') {
      src += '.*';
      i++;
    } else if (ch === '*') src += '[^.]*';
    else if (ch === '?') src += '[^.]';
    else src += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // Case-insensitive: a rule should catch `Users` as well as `users`; over-matching only over-denies.
  re = new RegExp(`^${src}$`, 'i');
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, re);
  return re;
}

export function globMatch(pattern: string, name: string): boolean {
  if (compile(pattern).test(name)) return true;
  if (!pattern.includes('.') && name.includes('.')) return compile(pattern).test(name.slice(name.lastIndexOf('.') + 1));
  return false;
}

export function anyGlob(patterns: readonly string[], names: readonly string[]): string | undefined {
  for (const n of names) for (const p of patterns) if (globMatch(p, n)) return n;
  return undefined;
}
