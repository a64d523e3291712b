/**
 * The message contract of the prediction playground webview (webviews/prediction-playground),
 * imported by the extension host and the webview. The webview never talks HTTP (its CSP forbids
 * it): it asks the host, which calls the model services on 127.0.0.1 and posts the answers back.
 *
 * Handshake: the webview posts `ready` each time its script starts; the host answers with `targets`
 * (the deployed model services and the CSV datasets of the project) and, for the chosen services,
 * `info` (what GET /info said, and an example payload).
 */

/** How the input is sent: the route and, for rows, the JSON shape (MLflow's scoring formats). */
export type PredictRoute = '/predict' | '/invocations';
export type InputFormat = 'inputs' | 'instances' | 'dataframe_split' | 'dataframe_records';

export const INPUT_FORMATS: readonly InputFormat[] = ['inputs', 'instances', 'dataframe_split', 'dataframe_records'];

/** A deployed model service the playground can send to. */
export interface PlaygroundTarget {
  /** the service name; the key of every request */
  readonly service: string;
  /** e.g. "iris:v2" (from the service's model), or the image when unknown */
  readonly model: string;
  readonly status: string;
  /** "http://127.0.0.1:49152", or null when the service publishes no port */
  readonly url: string | null;
}

/** A CSV dataset version whose rows can be sent. */
export interface PlaygroundDataset {
  /** "iris:v3" */
  readonly ref: string;
  /** e.g. "iris:v3 · 4.4 KB" */
  readonly label: string;
}

export interface TargetsMessage {
  readonly type: 'targets';
  readonly targets: readonly PlaygroundTarget[];
  readonly datasets: readonly PlaygroundDataset[];
  /** the services to preselect (the command's argument), at most two */
  readonly selected: readonly string[];
  /** a line under the pickers, e.g. why there is nothing to choose */
  readonly note: string;
}

/** What GET /info of a service said, and an example payload built from it. */
export interface InfoMessage {
  readonly type: 'info';
  readonly service: string;
  /** one line: "sklearn.linear_model.LogisticRegression · 4 features: a, b, c, d", or the error */
  readonly summary: string;
  /** an example body for /predict, e.g. {"inputs": [[0, 0, 0, 0]]}; null when nothing is known */
  readonly example: string | null;
  /** the feature names the model declared, if any (preselects CSV columns) */
  readonly featureNames: readonly string[] | null;
  readonly nFeatures: number | null;
}

/** The columns of a CSV dataset version (answer to `columns`). */
export interface ColumnsMessage {
  readonly type: 'columns';
  readonly dataset: string;
  readonly columns: readonly string[];
  /** columns to preselect: the model's features when known, else all but a trailing label column */
  readonly selected: readonly string[];
  readonly note: string;
}

/** The payload built from CSV rows (answer to `buildPayload`), or why it could not be. */
export interface PayloadMessage {
  readonly type: 'payload';
  readonly payload: string | null;
  /** "rows 1-5 of iris:v3, 4 columns" or the error */
  readonly note: string;
}

/** The answer of one service to one request. */
export interface PredictionResult {
  readonly service: string;
  readonly model: string;
  /** the HTTP status, or null when no answer came (connection refused, timeout) */
  readonly status: number | null;
  readonly ok: boolean;
  /** from sending the request to the end of the answer, in ms; null without an answer */
  readonly latencyMs: number | null;
  /** the body pretty-printed when it is JSON, else as received */
  readonly body: string;
  /** what went wrong, in words a person can act on ("the model expects 4 features per row") */
  readonly error: string | null;
}

export interface ResultsMessage {
  readonly type: 'results';
  readonly requestId: number;
  readonly results: readonly PredictionResult[];
}

export type HostToWebviewMessage = TargetsMessage | InfoMessage | ColumnsMessage | PayloadMessage | ResultsMessage;

export type WebviewToHostMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'refresh' }
  | { readonly type: 'info'; readonly service: string }
  /** `service`: the chosen service whose model's features preselect columns */
  | { readonly type: 'columns'; readonly dataset: string; readonly service?: string }
  | {
      readonly type: 'buildPayload';
      readonly dataset: string;
      /** 1-based, inclusive data rows (the header is not a row) */
      readonly from: number;
      readonly to: number;
      readonly columns: readonly string[];
      readonly format: InputFormat;
    }
  | {
      readonly type: 'send';
      readonly requestId: number;
      /** one service, or two for A/B */
      readonly services: readonly string[];
      readonly route: PredictRoute;
      /** the JSON text of the body, as the person edited it */
      readonly body: string;
    };

/** What the webview keeps with getState/setState: the person's choices and the last answers. */
export interface PredictionPlaygroundState {
  readonly services: readonly string[];
  readonly route: PredictRoute;
  readonly format: InputFormat;
  readonly body: string;
  readonly dataset: string;
  readonly from: number;
  readonly to: number;
  readonly columns: readonly string[];
  readonly results: readonly PredictionResult[];
}
