/** The playground's state: what the person chose (kept with getState/setState) and what the host said. */
import type {
  InfoMessage,
  InputFormat,
  PlaygroundTarget,
  PredictionPlaygroundState,
  PredictRoute,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/prediction-playground';
import { vscodeApi } from '../common/vscode-api';

export const vscode = vscodeApi<WebviewToHostMessage, PredictionPlaygroundState>();

const saved = vscode.getState();
export const state = {
  services: [...(saved?.services ?? [])],
  route: saved?.route ?? ('/predict' as PredictRoute),
  format: saved?.format ?? ('inputs' as InputFormat),
  body: saved?.body ?? '',
  dataset: saved?.dataset ?? '',
  from: saved?.from ?? 1,
  to: saved?.to ?? 5,
  columns: [...(saved?.columns ?? [])],
  results: [...(saved?.results ?? [])],
};

/** What the host said, and the request in flight (not saved). */
export const session = {
  targets: [] as readonly PlaygroundTarget[],
  infos: new Map<string, InfoMessage>(),
  /** the example last put into the body: replaced by the next example only while the person did not edit it */
  lastExample: undefined as string | undefined,
  requestId: 0,
  pending: undefined as number | undefined,
};

export function save(): void {
  vscode.setState({ ...state, results: state.results });
}
