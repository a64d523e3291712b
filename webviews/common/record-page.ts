/**
 * The renderer of the record pages (experiment details, model card, dataset preview): fields,
 * tables and sections of the contract in src/protocol/webviews/record-page.ts. Every value is set
 * with textContent, never as HTML: params, cells and paths can contain anything.
 */
import type { RecordField, RecordSection, RecordTable } from '../../src/protocol/webviews/record-page';
import { el } from './dom';

/** Labelled values as a description list; a shortened value shows its full text on hover. */
export function fieldList(list: readonly RecordField[]): HTMLElement {
  const dl = el('dl');
  for (const f of list) {
    const dd = el('dd', f.monospace ? 'mono' : undefined, f.value);
    if (f.title) {
      dd.title = f.title;
    }
    dl.append(el('dt', undefined, f.label), dd);
  }
  return dl;
}

/** A table in a box that scrolls (with the keyboard too) when it is wider or taller than the page. */
export function recordTable(t: RecordTable): HTMLElement {
  const cellClass = (i: number) => [t.numeric[i] ? 'num' : '', t.monospace?.[i] ? 'mono' : ''].join(' ').trim();
  const everyCell = t.titles === 'cells';
  const titles = typeof t.titles === 'object' ? t.titles : undefined;
  const head = el('tr');
  if (t.rowNumbers) {
    head.append(el('th', 'rownum', '#'));
  }
  t.columns.forEach((name, i) => {
    const th = el('th', t.numeric[i] ? 'num' : undefined, name);
    if (everyCell) {
      th.title = name;
    }
    head.append(th);
  });
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  t.rows.forEach((row, r) => {
    const tr = el('tr');
    if (t.rowNumbers) {
      tr.append(el('td', 'rownum', String(r + 1)));
    }
    row.forEach((cell, i) => {
      const td = el('td', cellClass(i), cell);
      const title = everyCell ? cell : titles?.[r]?.[i];
      if (title) {
        td.title = title;
      }
      tr.append(td);
    });
    body.append(tr);
  });
  const table = el('table');
  if (t.label) {
    table.setAttribute('aria-label', t.label);
  }
  table.append(thead, body);
  const scroll = el('div', 'scroll');
  scroll.tabIndex = 0; // scrollable with the keyboard
  scroll.append(table);
  return scroll;
}

/** A `<section>` named by its heading, with `children` (those given) after it. */
export function sectionNode(title: string, id?: string, ...children: (HTMLElement | undefined)[]): HTMLElement {
  const node = el('section');
  if (id) {
    node.id = id;
  }
  node.setAttribute('aria-label', title);
  node.append(el('h2', undefined, title), ...children.filter((c): c is HTMLElement => c !== undefined));
  return node;
}

/** Appends the fields and the table of `s` to `node`; returns whether there was any. */
export function appendRecordParts(node: HTMLElement, s: RecordSection): boolean {
  let any = false;
  if (s.fields && s.fields.length > 0) {
    node.append(fieldList(s.fields));
    any = true;
  }
  if (s.table) {
    node.append(recordTable(s.table));
    any = true;
  }
  return any;
}

/** A line saying there is nothing to show ("No params recorded."). */
export function emptyNote(text: string): HTMLElement {
  return el('p', 'empty', text);
}

/** The banner of a record deleted while its page was open: what is shown is the last known record. */
export function deletedBanner(text: string): HTMLElement {
  const banner = el('div', 'banner', text);
  banner.setAttribute('role', 'alert');
  return banner;
}
