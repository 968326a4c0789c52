export { DETECTORS, isDetectorName, type DetectorName, type Span } from './types.js';
export { detect, type DetectOptions } from './detect.js';
export { maskText, type TextMaskOptions, type TextMaskResult } from './mask-text.js';
export { applyAction, partial, redact, tokenize, normaliseForToken, type MaskAction } from './actions.js';
export { type Lineage, type SourceColumn } from './lineage.js';
export {
  maskingRulesSchema,
  maskActionSchema,
  columnRuleSchema,
  parseMaskingRules,
  compileColumnRules,
  ruleForColumn,
  type MaskingRules,
  type MaskingRulesInput,
  type ColumnRule,
  type CompiledColumnRule,
  type ColumnDecision,
} from './rules.js';
export { createRowMasker, type RowMasker, type RowMaskerOptions, type MaskSummary } from './row-masker.js';
export { luhnValid, ibanMod97 } from './checksums.js';
export { isCardNumber } from './detectors/card.js';
export { isValidIban, IBAN_LENGTHS } from './detectors/iban.js';
export { validSsnDigits } from './detectors/ssn.js';
export { decodeJoseHeader } from './detectors/jwt.js';
