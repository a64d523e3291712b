import * as fs from 'fs';
import * as path from 'path';
import type { RunStatus } from '../../protocol/experiments';
import { cutText, RUN_LIMITS } from '../../protocol/limits';
import { checkName } from '../../protocol/names';
import { RUN_FILE_MODE } from '../../common/run-directory/files';
import { boundValue, checkLength, RunWriter } from './run-writer';
import type { Shipper } from './shipper';

const FLUSH_MS = 100;
/**
 * Lines buffered at most before they are written, as the Python client does: a loop that logs without
 * yielding to the event loop (no timer runs then) would otherwise hold every point in memory until
 * its end, and the garbage collector's work on them cost more than the logging itself.
 */
const FLUSH_LINES = 10_000;

/** JSON for a metric value: numbers JSON cannot hold travel as strings (see RunEvent). */
function metricValue(v: number): string {
  return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

/**
 * One run being recorded from Node code, with the Python client's API in camelCase. Metric points are
 * buffered and written every 100 ms (or every FLUSH_LINES lines) as whole lines, so logging costs
 * almost nothing and a crash loses at most the last 100 ms.
 */
export class Experiment {
  private buffer: string[] = [];
  /** metric key -> its next step and the start of its lines (the key as JSON, made once) */
  private readonly keys = new Map<string, { next: number; readonly head: string }>();
  private readonly timer: NodeJS.Timeout;
  private ended = false;
  private readonly onExit = () => {
    this.end(process.exitCode ? 'failed' : 'completed', Number(process.exitCode ?? 0));
    this.shipper?.abandon(); // the process ends now: what is not sent stays in the journal
  };
  /** a run sent to a lab over the network ends when the code is done, so that its end can wait for the lab */
  private readonly onBeforeExit = () =>
    this.end(process.exitCode ? 'failed' : 'completed', Number(process.exitCode ?? 0));
  private settleSent!: (sent: Promise<boolean>) => void;
  private readonly sentToLab = new Promise<boolean>((resolve) => (this.settleSent = (p) => resolve(p)));

  /**
   * @param params the run's params: those given in code, overridden by those given to
   * `mllab run --param` (how the editor's params file and "Run with Changed Params" reach the code)
   */
  constructor(
    private readonly writer: RunWriter,
    readonly params: Readonly<Record<string, unknown>> = {},
    /** sends the run to a lab over the network (the run directory is then a local journal's) */
    private readonly shipper?: Shipper,
  ) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
    process.once('exit', this.onExit);
    if (shipper) {
      process.once('beforeExit', this.onBeforeExit);
    }
  }

  get id(): string {
    return this.writer.id;
  }

  get dir(): string {
    return this.writer.dir;
  }

  logMetric(key: string, value: number, step?: number): void {
    if (typeof value !== 'number') {
      throw new TypeError(`metric "${key}" must be a number, not ${typeof value}`);
    }
    let known = this.keys.get(key);
    if (known === undefined) {
      checkLength('metric key', key, RUN_LIMITS.keyChars); // once per key: nothing on the hot path
      known = { next: 0, head: `{"k":"m","key":${JSON.stringify(key)},"v":` };
      this.keys.set(key, known);
    }
    const s = step ?? known.next;
    known.next = s + 1;
    this.buffer.push(`${known.head}${metricValue(value)},"s":${s},"t":${Date.now()}}\n`);
    if (this.buffer.length >= FLUSH_LINES) {
      this.flush();
    }
  }

  logMetrics(metrics: Record<string, number>, step?: number): void {
    for (const [k, v] of Object.entries(metrics)) {
      this.logMetric(k, v, step);
    }
  }

  /** Records a param; a value longer than RUN_LIMITS.paramValueChars (as JSON) is cut, with a warning. */
  logParam(key: string, value: unknown): void {
    checkLength('param key', key, RUN_LIMITS.keyChars);
    const v = this.bounded(`the value of the param "${key}"`, value, RUN_LIMITS.paramValueChars);
    this.event({ k: 'param', key, v, t: Date.now() });
  }

  logParams(params: Record<string, unknown>): void {
    Object.entries(params).forEach(([k, v]) => this.logParam(k, v));
  }

  /** Sets a tag; a value longer than RUN_LIMITS.tagValueChars is cut, with a warning. */
  setTag(key: string, value: string): void {
    checkLength('tag key', key, RUN_LIMITS.keyChars);
    const v = String(this.bounded(`the value of the tag "${key}"`, String(value), RUN_LIMITS.tagValueChars));
    this.event({ k: 'tag', key, v, t: Date.now() });
  }

  /** `value` within `max` characters; a cut is recorded as a warning in the run and said on stderr. */
  private bounded(what: string, value: unknown, max: number): unknown {
    const warnings: string[] = [];
    const v = boundValue(what, value, max, warnings);
    warnings.forEach((w) => this.warn(w));
    return v;
  }

  private warn(message: string): void {
    process.stderr.write(`mllab: run ${this.id}: ${message}\n`);
    this.event({ k: 'warning', message, t: Date.now() });
  }

  /** Copies a file into the run directory's artifacts/; returns its path relative to the run directory. */
  logArtifact(file: string): string {
    const target = path.join('artifacts', path.basename(file));
    checkLength('artifact name', path.basename(file), RUN_LIMITS.nameChars);
    const source = path.resolve(file);
    checkLength('artifact path', source, RUN_LIMITS.pathChars);
    fs.mkdirSync(path.join(this.dir, 'artifacts'), { recursive: true, mode: 0o700 });
    fs.cpSync(file, path.join(this.dir, target), { recursive: true });
    if (fs.lstatSync(path.join(this.dir, target)).isFile()) {
      fs.chmodSync(path.join(this.dir, target), RUN_FILE_MODE);
    }
    this.event({ k: 'artifact', path: target, source, t: Date.now() });
    return target;
  }

  /**
   * Logs a model file: copied into artifacts/, and registered by the backend as the next version of
   * the model `name`, traced to this run. `entryPoint` ("module:function") names a `predict(inputs)`
   * function the model server calls instead of unpickling the file.
   */
  logModel(
    file: string,
    name: string,
    options: { entryPoint?: string; description?: string; tags?: readonly string[] } = {},
  ): string {
    const problem = checkName('model', name);
    if (problem) {
      throw new Error(problem);
    }
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
      throw new Error(`logModel: there is no model file at ${path.resolve(file)}: a model version is one file.`);
    }
    const target = this.logArtifact(file);
    this.event({
      k: 'model',
      name,
      path: target.split(path.sep).join('/'),
      entryPoint: options.entryPoint ?? null,
      description: String(this.bounded('the model description', options.description ?? '', RUN_LIMITS.textChars)),
      tags: (options.tags ?? []).slice(0, RUN_LIMITS.listItems).map((t) => cutText(String(t), RUN_LIMITS.nameChars)),
      t: Date.now(),
    });
    return path.join(this.dir, target);
  }

  logInput(dataset: string, version: number | null = null): void {
    checkLength('dataset name', dataset, RUN_LIMITS.nameChars);
    this.event({ k: 'input', dataset, version, t: Date.now() });
  }

  logOutput(file: string): void {
    const p = path.resolve(file);
    checkLength('output path', p, RUN_LIMITS.pathChars);
    this.event({ k: 'output', path: p, t: Date.now() });
  }

  /** Records the run's result; one longer than RUN_LIMITS.textChars (as JSON) is cut, with a warning. */
  setResult(value: unknown): void {
    this.event({ k: 'result', v: this.bounded('the result', value, RUN_LIMITS.textChars), t: Date.now() });
  }

  flush(): void {
    if (this.buffer.length > 0) {
      const lines = this.buffer.join('');
      this.buffer = [];
      this.writer.appendLines(lines);
    }
  }

  /**
   * Records the run's end. A run recorded for a lab over the network is then sent to it: the process
   * stays until the lab holds all of it, at most MLLAB_SHIP_TIMEOUT seconds (default 30); `sent()`
   * says when. What is not sent by then stays in the local journal, for `mllab sync`.
   */
  end(status: RunStatus = 'completed', exitCode: number | null = null): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    clearInterval(this.timer);
    process.off('exit', this.onExit);
    process.off('beforeExit', this.onBeforeExit);
    this.flush();
    this.writer.finish(status, exitCode);
    this.settleSent(this.shipper ? this.shipper.finish() : Promise.resolve(true));
  }

  /**
   * Resolves once the run has ended and the lab holds all of it (true), or when its sending stopped
   * (a refusal, or MLLAB_SHIP_TIMEOUT seconds after the end: false, the rest is left to `mllab sync`).
   * A run recorded in a local lab home resolves true once ended.
   */
  sent(): Promise<boolean> {
    return this.sentToLab;
  }

  private event(e: Parameters<RunWriter['append']>[0]): void {
    this.buffer.push(JSON.stringify(e) + '\n');
  }
}
