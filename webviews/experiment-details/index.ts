/**
 * The experiment details webview: renders what the host posts (a header, then sections of fields,
 * tables, lists with buttons and preformatted texts). Every value is set with textContent, never as
 * HTML: params, logs and paths can contain anything. A run that is running is re-posted every few
 * seconds, so sections are updated in place (only those that changed), keeping the focused button,
 * folded lists and log scroll positions.
 */
import type {
  DetailsButton,
  DetailsSection,
  DetailsText,
  ExperimentDetailsState,
  HostToWebviewMessage,
  ShowMessage,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/experiment-details';
import { el } from '../common/dom';
import { appendRecordParts, deletedBanner, fieldList, sectionNode } from '../common/record-page';
import { vscodeApi } from '../common/vscode-api';

const vscode = vscodeApi<WebviewToHostMessage, ExperimentDetailsState>();
const root = document.getElementById('root')!;

let shown: ShowMessage | undefined;
/** sections whose folded texts are open, kept across updates and in the saved state */
const open = new Set<string>(vscode.getState()?.open ?? []);
/** the rendered header and sections, with the JSON they were built from */
let header: { json: string; node: HTMLElement } | undefined;
let sections: { id: string; json: string; node: HTMLElement }[] = [];

function saveState(): void {
  if (shown) {
    vscode.setState({ show: shown, open: [...open] });
  }
}

function button(b: DetailsButton, key: string): HTMLButtonElement {
  const node = el('button', b.primary ? 'primary' : undefined, b.label);
  node.type = 'button';
  node.dataset.key = key; // to give the focus back after an update
  if (b.title) {
    node.title = b.title;
  }
  node.addEventListener('click', () => {
    if (shown) {
      vscode.postMessage({ type: 'request', id: shown.id, request: b.request });
    }
  });
  return node;
}

function buttons(list: readonly DetailsButton[] | undefined, key: string): HTMLElement | undefined {
  if (!list || list.length === 0) {
    return undefined;
  }
  const row = el('div', 'actions');
  list.forEach((b, i) => row.append(button(b, `${key}:${i}:${b.label}`)));
  return row;
}

function text(sectionId: string, t: DetailsText, i: number): HTMLElement {
  const pre = el('pre', undefined, t.text);
  pre.tabIndex = 0;
  pre.dataset.key = `${sectionId}:text:${i}`;
  const parts: HTMLElement[] = [];
  if (t.label && !t.collapsed) {
    parts.push(el('h3', undefined, t.label));
  }
  parts.push(pre);
  if (t.note) {
    parts.push(el('div', 'note', t.note));
  }
  const actions = buttons(t.buttons, `${sectionId}:text:${i}`);
  if (actions) {
    parts.push(actions);
  }
  if (!t.collapsed) {
    const box = el('div');
    box.append(...parts);
    return box;
  }
  const details = el('details');
  const key = `${sectionId}:${i}`;
  details.open = open.has(key);
  details.append(el('summary', undefined, t.label ?? 'Show'), ...parts);
  details.addEventListener('toggle', () => {
    if (details.open) {
      open.add(key);
    } else {
      open.delete(key);
    }
    saveState();
  });
  return details;
}

function section(s: DetailsSection): HTMLElement {
  const node = sectionNode(s.title);
  let any = appendRecordParts(node, s);
  if (s.items && s.items.length > 0) {
    const list = el('ul', 'items');
    s.items.forEach((item, i) => {
      const li = el('li');
      li.append(el('span', 'label mono', item.label));
      if (item.detail) {
        li.append(el('span', 'detail', item.detail));
      }
      const actions = buttons(item.buttons, `${s.id}:item:${i}`);
      if (actions) {
        li.append(actions);
      }
      list.append(li);
    });
    node.append(list);
    any = true;
  }
  (s.texts ?? []).forEach((t, i) => node.append(text(s.id, t, i)));
  any ||= (s.texts ?? []).length > 0;
  if (!any && s.empty) {
    node.append(el('p', 'empty', s.empty));
  }
  const actions = buttons(s.buttons, `${s.id}:buttons`);
  if (actions) {
    node.append(actions);
  }
  return node;
}

function renderHeader(show: ShowMessage): HTMLElement {
  const node = el('header');
  const title = el('div', 'title');
  title.append(el('h1', undefined, show.title));
  const status = el('span', `status ${show.status}`, show.statusLabel);
  status.setAttribute('role', 'status');
  title.append(status);
  node.append(title);
  if (show.deleted) {
    node.append(deletedBanner(show.deleted));
  }
  node.append(fieldList(show.header));
  const actions = buttons(show.buttons, 'header');
  if (actions) {
    node.append(actions);
  }
  return node;
}

/** The texts the person scrolled away from the end of: a log tail that was at its end stays there. */
function scrolledAway(node: HTMLElement): Set<string> {
  const keys = new Set<string>();
  node.querySelectorAll<HTMLElement>('pre[data-key]').forEach((pre) => {
    if (pre.scrollTop + pre.clientHeight < pre.scrollHeight - 4) {
      keys.add(pre.dataset.key!);
    }
  });
  return keys;
}

function followEnds(s: DetailsSection, node: HTMLElement, away: Set<string>): void {
  (s.texts ?? []).forEach((t, i) => {
    const key = `${s.id}:text:${i}`;
    if (t.tail && !away.has(key)) {
      const pre = node.querySelector<HTMLElement>(`pre[data-key="${CSS.escape(key)}"]`);
      if (pre) {
        pre.scrollTop = pre.scrollHeight;
      }
    }
  });
}

/** Replaces `old` by `next` (if given), giving the focus back to the same button. */
function replace(old: HTMLElement, next: HTMLElement): void {
  const focused =
    document.activeElement instanceof HTMLElement && old.contains(document.activeElement)
      ? document.activeElement.dataset.key
      : undefined;
  old.replaceWith(next);
  if (focused) {
    next.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  }
}

function render(show: ShowMessage): void {
  const sameRun = shown?.id === show.id;
  shown = show;
  const headerJson = JSON.stringify([
    show.title,
    show.status,
    show.statusLabel,
    show.deleted,
    show.header,
    show.buttons,
  ]);
  const nextHeader = header?.json === headerJson && sameRun ? header : { json: headerJson, node: renderHeader(show) };
  const sameLayout =
    sameRun &&
    header !== undefined &&
    sections.map((s) => s.id).join('\n') === show.sections.map((s) => s.id).join('\n');
  if (!sameLayout) {
    header = nextHeader;
    sections = show.sections.map((s) => ({ id: s.id, json: JSON.stringify(s), node: section(s) }));
    root.replaceChildren(header.node, ...sections.map((s) => s.node));
    sections.forEach((s, i) => followEnds(show.sections[i], s.node, new Set()));
    return;
  }
  if (nextHeader !== header) {
    replace(header!.node, nextHeader.node);
    header = nextHeader;
  }
  sections = sections.map((old, i) => {
    const s = show.sections[i];
    const json = JSON.stringify(s);
    if (json === old.json) {
      return old;
    }
    const away = scrolledAway(old.node);
    const next = { id: s.id, json, node: section(s) };
    replace(old.node, next.node);
    followEnds(s, next.node, away);
    return next;
  });
}

let painted = false;
window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const message = event.data;
  if (message.type === 'show') {
    render(message);
    saveState();
    if (!painted) {
      painted = true;
      // after the frame that shows it: the host measures from the command to here
      requestAnimationFrame(() => setTimeout(() => vscode.postMessage({ type: 'painted', id: message.id }), 0));
    }
  }
});

// a panel shown again after being hidden restores at once, then asks for fresh data
const saved = vscode.getState();
if (saved) {
  render(saved.show);
}
vscode.postMessage({ type: 'ready' });
