/**
 * The one way ML Lab shows a number, in the extension (tree, details, model card) and in the
 * webviews (charts, compare table): short enough to read at a glance, with the full value on demand
 * (`formatFull`, for tooltips and titles).
 */

/** Significant digits shown by default. */
export const SIGNIFICANT_DIGITS = 4;

/** Below this (and above zero) or from LARGE on, a value is written with an exponent. */
const SMALL = 1e-4;
const LARGE = 1e6;

/** `1.235e+7` -> `1.235e7`, `1.200e-5` -> `1.2e-5`. */
function exponent(v: number, digits: number): string {
  const [mantissa, exp] = v.toExponential(Math.max(0, digits - 1)).split('e');
  const m = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
  return `${m}e${exp.replace(/^\+/, '')}`;
}

/**
 * A number at a glance: integers as integers (12, 1000, 250000), others with `digits` significant
 * digits (0.09349, 12.35), an exponent for very small or very large magnitudes (1.2e-5, 3.5e9), and
 * NaN and infinities as logged (NaN, Infinity, -Infinity).
 */
export function formatNumber(v: number, digits = SIGNIFICANT_DIGITS): string {
  if (!Number.isFinite(v)) {
    return String(v);
  }
  if (v === 0) {
    return '0';
  }
  const a = Math.abs(v);
  if (Number.isInteger(v)) {
    return a < 1e15 ? String(v) : exponent(v, digits);
  }
  if (a < SMALL || a >= LARGE) {
    return exponent(v, digits);
  }
  if (a >= 10 ** digits) {
    return String(Math.round(v)); // 12345.6 -> 12346: more digits than asked, but never a misleading 12350
  }
  return String(Number(v.toPrecision(digits)));
}

/** The full value, for a tooltip or a title: every digit JavaScript keeps. */
export function formatFull(v: number): string {
  return String(v);
}

/**
 * A recorded value that may be a number, the text of a non-finite one ('NaN', 'Infinity',
 * '-Infinity', as the API sends them) or missing (null: shown as a dash).
 */
export function formatValue(v: number | string | null | undefined, digits = SIGNIFICANT_DIGITS): string {
  if (v === null || v === undefined) {
    return '—';
  }
  return typeof v === 'number' ? formatNumber(v, digits) : v;
}

/** A param value for a label or a cell: numbers formatted, text as is, anything else as JSON. */
export function formatParam(v: unknown): string {
  if (typeof v === 'number') {
    return formatNumber(v);
  }
  if (typeof v === 'string') {
    return v;
  }
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A run's duration as the Experiments view and the compare table show it: "12.3 s", "4 min 5 s", "1.5 h". */
export function formatDuration(ms: number | null): string {
  if (ms === null) {
    return '';
  }
  const s = ms / 1000;
  return s < 60
    ? `${s.toFixed(1)} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
      : `${(s / 3600).toFixed(1)} h`;
}
