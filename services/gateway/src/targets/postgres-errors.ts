import { PcxError } from '@portcullis/common';
import { scrub } from './url-facts.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '3D000']);
const CREDENTIAL_SQLSTATES = new Set(['28P01', '28000']);
const SQLSTATE = /^[0-9A-Z]{5}$/;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

/**
 * Turns whatever pg threw into a PcxError that is safe to show: a SQL error keeps its
 * SQLSTATE and the target's message with every part of the connection URL scrubbed;
 * anything that means the target cannot be used (network, shutdown, too many
 * connections, the gateway's own credential refused) becomes PCX_TARGET_UNAVAILABLE
 * with a message of our own, because those messages name hosts and users.
 */
export function targetError(connection: string, e: unknown, sensitive: readonly string[]): PcxError {
  const err = (typeof e === 'object' && e !== null ? e : {}) as ErrorLike;
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(e);

  if (SQLSTATE.test(code)) {
    if (CREDENTIAL_SQLSTATES.has(code)) return unavailable(connection, `target ${connection} refused the gateway's credentials`, code);
    // 08P01 (protocol violation) is what a wrong parameter count looks like: the caller's error.
    if ((code.startsWith('08') && code !== '08P01') || UNAVAILABLE_SQLSTATES.has(code)) return unavailable(connection, `target ${connection} is unavailable (SQLSTATE ${code})`, code);
    return new PcxError('PCX_TARGET_ERROR', `SQLSTATE ${code}: ${scrub(message, sensitive)}`, { connection, sqlstate: code });
  }
  if (NETWORK_CODES.has(code) || /timeout|terminated|Connection ended|connect/i.test(message)) {
    return unavailable(connection, `target ${connection} is unavailable`, code || 'network');
  }
  return new PcxError('PCX_TARGET_ERROR', `target ${connection} failed: ${scrub(message, sensitive)}`, { connection });
}

function unavailable(connection: string, message: string, reason: string): PcxError {
  return new PcxError('PCX_TARGET_UNAVAILABLE', message, { connection, reason });
}
