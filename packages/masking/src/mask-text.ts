import type { Secret } from '@portcullis/common';
import { applyAction, type MaskAction } from './actions.js';
import { detect } from './detect.js';
import type { DetectorName, Span } from './types.js';

export interface TextMaskOptions {
  hint?: string | undefined;
  enabled?: ReadonlySet<DetectorName> | undefined;
  actions: ReadonlyMap<DetectorName, MaskAction>;
  key?: Secret | undefined;
  /** Count but do not replace (break glass). */
  unmask?: boolean;
}

export interface TextMaskResult {
  text: string;
  spans: Span[];
}

const REDACT: MaskAction = { kind: 'redact' };

/** Replaces every detected span in `text` by its detector's action; the rest is kept. */
export function maskText(text: string, options: TextMaskOptions): TextMaskResult {
  const spans = detect(text, { hint: options.hint, enabled: options.enabled });
  if (spans.length === 0 || options.unmask) return { text, spans };
  let out = '';
  let at = 0;
  for (const s of spans) {
    out += text.slice(at, s.start);
    out += applyAction(options.actions.get(s.detector) ?? REDACT, s.detector, text.slice(s.start, s.end), options.key);
    at = s.end;
  }
  out += text.slice(at);
  return { text: out, spans };
}
