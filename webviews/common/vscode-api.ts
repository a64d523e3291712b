/**
 * The webview side of the host API, typed with a webview's message contract from src/protocol/webviews.
 * acquireVsCodeApi may be called once per page, so each webview calls `vscodeApi()` once at start.
 */
export interface VsCodeApi<ToHost, State> {
  postMessage(message: ToHost): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<ToHost, State>(): VsCodeApi<ToHost, State>;

export function vscodeApi<ToHost, State>(): VsCodeApi<ToHost, State> {
  return acquireVsCodeApi<ToHost, State>();
}
