import { PcxError } from '@portcullis/common';

const IDENT = /^[a-z_][a-z0-9_]*$/i;

/** Database names are spliced into SQL (ClickHouse cannot bind identifiers in DDL), so they are checked here first. */
export function checkIdentifier(name: string, what = 'database'): string {
  if (!IDENT.test(name)) throw new PcxError('PCX_CONFIG_INVALID', `${what} name must match ${IDENT.source}`, { [what]: name });
  return name;
}
