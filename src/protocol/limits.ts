/**
 * Limits on what a run may record (the clients check them when logging; the backend's ingest checks
 * them again, since anything can write a run directory). Lengths are in characters (UTF-16 code
 * units in Node, code points in Python: the same for ASCII), except the line, which is in bytes.
 * The Python client (python/mllab/_run_writer.py) repeats these numbers; a test keeps them equal.
 *
 * Keys and names that are too long are refused (a key identifies a series: a shortened key would
 * merge or hide data); values that are too long are cut to the limit, with a warning in the run.
 */
export const RUN_LIMITS = {
  /** metric, param and tag keys (MLflow's limit) */
  keyChars: 250,
  /** a param value, as a string or as its JSON text (MLflow's limit) */
  paramValueChars: 6000,
  /** a tag value (MLflow's limit) */
  tagValueChars: 8000,
  /** an experiment name, a dataset name of an input, a model name */
  nameChars: 250,
  /** a path the run records: artifact and model paths, their source, outputs */
  pathChars: 4096,
  /** free text: a model's description, a warning, the result as JSON text */
  textChars: 65_536,
  /** entries of a list a run records: model tags */
  listItems: 1000,
  /**
   * params, tags, artifacts, inputs, outputs and the result of one run together, in characters of
   * JSON: what goes beyond is refused with a warning (the store keeps them in the run's row)
   */
  recordedChars: 1024 * 1024,
  /** one line of events.jsonl, in bytes with its newline: longer lines are skipped */
  lineBytes: 1024 * 1024,
  /** run.json, in bytes: a bigger manifest is not ingested */
  manifestBytes: 2 * 1024 * 1024,
  /** warnings kept per run (more are counted) */
  warningsPerRun: 100,
} as const;

/** `text` cut to `max` characters at most (without splitting a surrogate pair). */
export function cutText(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
