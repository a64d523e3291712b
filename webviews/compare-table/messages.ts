/** What the page does with each message of the host. */
import type { HostToWebviewMessage } from '../../src/protocol/webviews/compare-table';
import type { ComparePage } from './page';

export function receive(page: ComparePage, message: HostToWebviewMessage): void {
  const { data, store } = page;
  switch (message.type) {
    case 'table': {
      const first = !data.loaded;
      data.setTable(message);
      if (first) {
        // after the frame that shows it: the host measures from the command to here
        requestAnimationFrame(() => setTimeout(() => page.post({ type: 'painted', rows: message.rows.length }), 0));
      }
      if (message.select) {
        store.select(message.select);
      }
      page.pruneSelection();
      page.refresh();
      if (first && store.state.scrollTop > 0) {
        page.grid.scrollTop = store.state.scrollTop; // a panel shown again is where it was left
      }
      break;
    }
    case 'rows':
      data.upsert(message.rows);
      page.refresh();
      break;
    case 'deleteRows':
      data.delete(message.ids);
      page.pruneSelection();
      page.refresh();
      break;
    case 'select':
      store.select(message.ids.filter((id) => data.has(id)));
      page.refresh();
      break;
    case 'notice':
      page.notice = { level: message.level, text: message.text };
      page.renderStatus();
      break;
  }
}
