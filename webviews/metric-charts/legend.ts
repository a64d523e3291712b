import type { ChartRun } from '../../src/protocol/webviews/metric-charts';
import { el } from '../common/dom';
import { runStyle, type Theme } from '../common/chart-theme';

/** The runs' legend (one for every chart: the runs are the same) and the note about deleted runs. */
export function renderLegend(legend: HTMLElement, notes: HTMLElement, runs: readonly ChartRun[], theme: Theme): void {
  legend.replaceChildren(
    ...runs.map((run) => {
      const item = el('span', `legend-item${run.status === 'deleted' ? ' deleted' : ''}`);
      const style = runStyle(run.colour, theme, run.status === 'deleted');
      const swatch = el('span', style.dash.length > 0 ? 'swatch dashed' : 'swatch');
      swatch.style.background = style.stroke;
      const status = run.status === 'completed' ? '' : ` (${run.status})`;
      item.append(swatch, el('span', undefined, `${run.label}${status}`));
      item.title = `${run.name} · ${run.id} · ${run.status}`; // the label is short: the hover names the run
      return item;
    }),
  );
  const deleted = runs.filter((r) => r.status === 'deleted');
  const one = deleted.length === 1;
  notes.textContent =
    deleted.length > 0
      ? `${deleted.map((r) => r.label).join(', ')} ${one ? 'was' : 'were'} deleted while this panel was open: ` +
        `${one ? 'its' : 'their'} points stay here, greyed, until you show other runs.`
      : '';
  notes.hidden = notes.textContent === '';
}
