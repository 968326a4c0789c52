import { PcxError } from '@portcullis/common';

/**
 * Checks a request before anything else looks at it. Proto strings are valid UTF-8 by
 * the time they reach us; NUL is refused because no target accepts it in a command and
 * it would split what different parsers think the command is.
 */
export function validateCommand(connection: string, command: string, maxCommandBytes: number): void {
  if (!connection) throw new PcxError('PCX_BAD_REQUEST', 'connection is required');
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > maxCommandBytes) throw new PcxError('PCX_PAYLOAD_TOO_LARGE', `command is ${bytes} bytes; the limit is ${maxCommandBytes}`, { bytes, limit: maxCommandBytes });
  if (command.trim() === '') throw new PcxError('PCX_BAD_REQUEST', 'command is empty');
  if (command.includes('\0')) throw new PcxError('PCX_BAD_REQUEST', 'command contains a NUL byte');
}
