import type uPlot from 'uplot';
import type { ChartRun } from '../../src/protocol/webviews/metric-charts';
import { runStyle, type Theme } from '../common/chart-theme';

/**
 * A chart as a PNG data URL: the title, the plot (uPlot draws axes and lines on one canvas) and a
 * legend of the runs, on the theme's background, at the screen's pixel density.
 */
export function chartPng(plot: uPlot, title: string, runs: readonly ChartRun[], theme: Theme): string {
  const source = plot.ctx.canvas;
  const dpr = devicePixelRatio || 1;
  const line = 18 * dpr;
  const pad = 8 * dpr;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d')!;
  ctx.font = `${12 * dpr}px sans-serif`;
  // legend rows: as many names per row as fit
  const rows: { run: ChartRun; x: number; y: number }[] = [];
  let x = pad;
  let y = 0;
  for (const run of runs) {
    const w =
      20 * dpr + ctx.measureText(run.status === 'deleted' ? `${run.label} (deleted)` : run.label).width + 16 * dpr;
    if (x + w > source.width && x > pad) {
      x = pad;
      y += line;
    }
    rows.push({ run, x, y });
    x += w;
  }
  const legendHeight = runs.length > 0 ? y + line + pad : 0;
  canvas.width = source.width;
  canvas.height = line + pad + source.height + legendHeight;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = theme.foreground;
  ctx.font = `600 ${13 * dpr}px sans-serif`;
  ctx.textBaseline = 'middle';
  ctx.fillText(title, pad, (line + pad) / 2);
  ctx.drawImage(source, 0, line + pad);
  ctx.font = `${12 * dpr}px sans-serif`;
  const top = line + pad + source.height + pad;
  for (const { run, x: rx, y: ry } of rows) {
    const style = runStyle(run.colour, theme, run.status === 'deleted');
    ctx.strokeStyle = style.stroke;
    ctx.lineWidth = 2 * dpr;
    ctx.setLineDash(style.dash.map((d) => d * dpr));
    ctx.beginPath();
    ctx.moveTo(rx, top + ry + line / 2);
    ctx.lineTo(rx + 14 * dpr, top + ry + line / 2);
    ctx.stroke();
    ctx.fillStyle = theme.foreground;
    ctx.fillText(run.status === 'deleted' ? `${run.label} (deleted)` : run.label, rx + 20 * dpr, top + ry + line / 2);
  }
  return canvas.toDataURL('image/png');
}
