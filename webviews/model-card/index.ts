/**
 * The model card webview: renders what the host posts (a header with aliases and actions, the
 * version's details, its lineage, services and the other versions). Every value is set with
 * textContent, never as HTML: descriptions, params and paths can contain anything.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type {
  CardAction,
  ModelCardState,
  HostToWebviewMessage,
  ShowMessage,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/model-card';
import { el } from '../common/dom';
import { deletedBanner, emptyNote, fieldList, recordTable, sectionNode } from '../common/record-page';
import { vscodeApi } from '../common/vscode-api';

const vscode = vscodeApi<WebviewToHostMessage, ModelCardState>();
const root = document.getElementById('root')!;
let shown: ShowMessage | undefined;

const LABELS: Record<CardAction, { label: string; title: string }> = {
  deploy: { label: 'Deploy', title: 'Deploy this version as a model-server service' },
  setAlias: { label: 'Set Alias…', title: 'Point an alias such as "production" at this version' },
  playground: { label: 'Prediction Playground', title: 'Send inputs to a deployed service of this model' },
  openExperiment: { label: 'Open Experiment', title: 'Show the experiment this version came from' },
  revealFile: { label: 'Reveal File', title: 'Reveal the stored model file' },
  copyPath: { label: 'Copy Path', title: 'Copy the path of the stored model file' },
};

function vbutton(label: string, onClick: () => void, primary = false): VscodeButton {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.secondary = !primary;
  b.addEventListener('click', onClick);
  return b;
}

function actionButton(action: CardAction, primary: boolean): VscodeButton {
  const b = vbutton(
    LABELS[action].label,
    () => {
      if (shown) {
        vscode.postMessage({ type: 'action', ref: shown.ref, action });
      }
    },
    primary,
  );
  b.title = LABELS[action].title;
  b.dataset.action = action;
  return b;
}

function section(id: string, title: string, ...children: (HTMLElement | undefined)[]): HTMLElement {
  return sectionNode(title, id, ...children);
}

function header(show: ShowMessage): HTMLElement {
  const node = el('header');
  const title = el('div', 'title');
  title.append(el('h1', undefined, show.title));
  for (const a of show.aliases) {
    const badge = el('span', 'badge', `@${a}`);
    badge.title = `alias ${a}`;
    title.append(badge);
  }
  node.append(title);
  if (show.deleted) {
    node.append(deletedBanner(show.deleted));
  }
  if (show.description) {
    node.append(el('p', 'description', show.description));
  }
  if (show.tags.length > 0) {
    const tags = el('div', 'tags');
    show.tags.forEach((t) => tags.append(el('span', 'tag', t)));
    node.append(tags);
  }
  if (show.actions.length > 0) {
    const row = el('div', 'actions');
    show.actions.forEach((a, i) => row.append(actionButton(a, i === 0)));
    node.append(row);
  }
  return node;
}

function lineage(show: ShowMessage): HTMLElement {
  const l = show.lineage;
  if (!l) {
    return section('lineage', 'Lineage', emptyNote('Not registered from an experiment.'));
  }
  const parts: HTMLElement[] = [fieldList([{ label: 'Experiment', value: l.experiment, monospace: true }])];
  if (l.experimentDeleted) {
    parts.push(emptyNote(l.experimentDeleted));
  }
  parts.push(el('h3', undefined, 'Params'));
  parts.push(l.params ? recordTable(l.params) : emptyNote('No params recorded.'));
  parts.push(el('h3', undefined, 'Metrics'));
  parts.push(l.metrics ? recordTable(l.metrics) : emptyNote('No metrics logged.'));
  parts.push(el('h3', undefined, 'Input datasets'));
  if (l.inputs.length > 0) {
    const list = el('ul', 'items');
    l.inputs.forEach((i) => list.append(el('li', 'mono', i)));
    parts.push(list);
  } else {
    parts.push(emptyNote('No input datasets recorded.'));
  }
  return section('lineage', 'Lineage', ...parts);
}

function services(show: ShowMessage): HTMLElement {
  if (show.services.length === 0) {
    return section('services', 'Services', emptyNote('Not deployed.'));
  }
  const list = el('ul', 'items');
  for (const s of show.services) {
    const li = el('li');
    li.append(el('span', 'mono', s.name), el('span', `status ${s.tone}`, s.status));
    list.append(li);
  }
  return section('services', `Services (${show.services.length})`, list);
}

function versions(show: ShowMessage): HTMLElement {
  const list = el('ul', 'items');
  for (const v of show.versions) {
    const li = el('li');
    const b = el('button', 'version', v.label);
    b.type = 'button';
    b.setAttribute('aria-current', String(v.current));
    b.title = v.current ? 'shown' : `Show ${v.label}`;
    b.dataset.version = String(v.version);
    b.addEventListener('click', () => {
      if (shown && !v.current) {
        vscode.postMessage({ type: 'switchVersion', ref: shown.ref, version: v.version });
      }
    });
    li.append(b);
    v.aliases.forEach((a) => li.append(el('span', 'badge', `@${a}`)));
    li.append(el('span', 'detail', v.detail));
    list.append(li);
  }
  return section('versions', `Versions (${show.versions.length})`, list);
}

function render(show: ShowMessage): void {
  // keep the focus on the same control across updates (events re-post the card)
  const active = document.activeElement as HTMLElement | null;
  const focus = active?.dataset.action ?? (active?.dataset.version ? `v${active.dataset.version}` : undefined);
  shown = show;
  root.replaceChildren(
    header(show),
    section('details', 'Details', fieldList(show.fields)),
    lineage(show),
    services(show),
    versions(show),
  );
  if (focus) {
    const selector = focus.startsWith('v') ? `[data-version="${focus.slice(1)}"]` : `[data-action="${focus}"]`;
    root.querySelector<HTMLElement>(selector)?.focus();
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  if (event.data.type === 'show') {
    render(event.data);
    vscode.setState({ show: event.data });
  }
});

// a panel shown again after being hidden restores at once, then asks for fresh data
const saved = vscode.getState();
if (saved) {
  render(saved.show);
}
vscode.postMessage({ type: 'ready' });
