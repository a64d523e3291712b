/** Rendering what the host said: the services to choose from and the answers. */
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { PredictionResult } from '../../src/protocol/webviews/prediction-playground';
import { el } from '../common/dom';
import { tone } from './elements';
import { results, resultsTitle, targetList, targetsNote } from './page';
import { session, state } from './state';

/** The services to choose from, with their status, URL and (when chosen) what their /info says. */
export function renderTargets(toggle: (service: string, on: boolean) => void): void {
  const known = new Set(session.targets.map((t) => t.service));
  targetList.replaceChildren(
    ...session.targets.map((t) => {
      const row = el('div', 'target');
      const box: VscodeCheckbox = document.createElement('vscode-checkbox');
      box.label = `${t.service} · ${t.model}`;
      box.checked = state.services.includes(t.service);
      box.dataset.service = t.service;
      box.addEventListener('change', () => toggle(t.service, box.checked));
      row.append(box, el('span', `status ${tone(t.status)}`, t.status));
      row.append(el('span', 'note mono', t.url ?? 'no published port'));
      const info = session.infos.get(t.service);
      if (info && state.services.includes(t.service)) {
        row.append(el('span', 'note', info.summary));
      }
      return row;
    }),
  );
  const gone = state.services.filter((s) => !known.has(s));
  targetsNote.textContent = gone.length > 0 ? `Not deployed any more: ${gone.join(', ')}.` : '';
}

/** The answers, side by side when two services were asked (A/B). */
export function renderResults(list: readonly PredictionResult[]): void {
  resultsTitle.textContent = list.length === 2 ? 'Answers (A/B)' : 'Answers';
  if (list.length === 0) {
    results.replaceChildren(el('p', 'note', 'Nothing sent yet.'));
    return;
  }
  results.replaceChildren(
    ...list.map((r, i) => {
      const card = el('article', 'result');
      card.setAttribute('aria-label', `Answer of ${r.service}`);
      const prefix = list.length === 2 ? `${i === 0 ? 'A' : 'B'}: ` : '';
      card.append(el('h3', undefined, `${prefix}${r.service} · ${r.model}`));
      const meta = el('div', 'meta');
      meta.append(
        el('span', r.ok ? 'ok status-code' : 'bad status-code', r.status === null ? 'no answer' : `HTTP ${r.status}`),
        el('span', 'latency', r.latencyMs === null ? '' : `${r.latencyMs} ms`),
      );
      card.append(meta);
      if (r.error) {
        const error = el('div', 'error', r.error);
        error.setAttribute('role', 'alert');
        card.append(error);
      }
      if (r.body) {
        const pre = el('pre', undefined, r.body);
        pre.tabIndex = 0;
        card.append(pre);
      }
      return card;
    }),
  );
}
