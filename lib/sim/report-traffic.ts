/**
 * The report's "ALB weights over time" section for the spot scenario: an
 * HTML fragment with an inline SVG (no script, no network), appended to
 * report.html before `</body>`.
 */
import { escapeHtml } from './report.ts';
import { formatTimestamp } from './trace.ts';
import type { SpotScenarioRun } from './traffic-backtest.ts';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b'];
/** Interruptions listed in the table; the rest are in summary.json. */
const LISTED_INTERRUPTIONS = 20;

/**
 * A step path that emits a point only where the value changes: a week of
 * minutes with a few dozen weight changes stays a few hundred bytes, and no
 * two-minute drop is averaged away as downsampling would.
 */
export function stepPath(values: ArrayLike<number>, x: (i: number) => number, y: (v: number) => number): string {
  if (values.length === 0) return '';
  let d = `M${x(0).toFixed(1)},${y(values[0]!).toFixed(1)}`;
  for (let i = 1; i < values.length; i++) {
    if (values[i] !== values[i - 1]) d += `H${x(i).toFixed(1)}V${y(values[i]!).toFixed(1)}`;
  }
  return `${d}H${x(values.length - 1).toFixed(1)}`;
}

export function weightsChartHtml(run: SpotScenarioRun, t0Ms: number): string {
  const width = 1100;
  const height = 260;
  const left = 70;
  const right = 10;
  const top = 24;
  const bottom = 30;
  const n = Math.max(2, run.weights[0]?.length ?? 0);
  const yMax = Math.max(100, ...run.weights.flatMap((w) => Array.from(w)));
  const x = (i: number): number => left + (i / (n - 1)) * (width - left - right);
  const y = (v: number): number => top + (1 - v / yMax) * (height - top - bottom);
  // Each interruption: a band from notice to reclaim, at least a pixel wide so a two-minute window shows on a week.
  const bands = run.interruptions
    .filter((i) => i.nodes > 0)
    .map((i) => {
      const x0 = x(i.noticeMinute - run.startMinute);
      const x1 = Math.max(x0 + 1, x(i.reclaimMinute - run.startMinute));
      return `<rect x="${x0.toFixed(1)}" y="${top}" width="${(x1 - x0).toFixed(1)}" height="${height - top - bottom}" fill="#d62728" fill-opacity="0.35"><title>spot notice minute ${i.noticeMinute}, ${i.nodes} nodes reclaimed at ${i.reclaimMinute}</title></rect>`;
    });
  const lines = run.weights.map((w, k) => `<path d="${stepPath(w, x, y)}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.4"/>`);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = Math.round(yMax * f);
    return `<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/><text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v}</text>`;
  });
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const i = Math.round(f * (n - 1));
    return `<text x="${x(i).toFixed(1)}" y="${height - 8}" text-anchor="middle" font-size="11">${escapeHtml(formatTimestamp(t0Ms + (run.startMinute + i) * 60_000).slice(0, 16))}</text>`;
  });
  const legend = [
    ...run.targetGroups.map((name, k) => `<tspan x="${left + 10 + k * 150}" fill="${COLORS[k % COLORS.length]}">■ ${escapeHtml(name)}</tspan>`),
    `<tspan x="${left + 10 + run.targetGroups.length * 150}" fill="#d62728">■ spot notice → reclaim</tspan>`,
  ].join('');
  return `<figure><figcaption>ALB weights over time (points; the rule's forward action, after each minute's reweight run)</figcaption><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="ALB weights over time">
${ticks.join('')}${xTicks.join('')}
${bands.join('')}
${lines.join('\n')}
<text x="${left}" y="14" font-size="12">${legend}</text><text x="12" y="${height / 2}" font-size="11" transform="rotate(-90 12 ${height / 2})" text-anchor="middle">weight</text>
</svg></figure>`;
}

/** The section: what was simulated, the chart, the first interruptions with when the spot weight reached 0. */
export function trafficReportHtml(run: SpotScenarioRun, t0Ms: number): string {
  const spot = run.weights[run.weights.length - 1];
  const offAt = (noticeMinute: number, reclaimMinute: number): string => {
    if (spot === undefined) return '-';
    for (let m = noticeMinute; m < reclaimMinute; m++) if (spot[m - run.startMinute] === 0) return String(m);
    return 'not before reclaim';
  };
  const noticed = run.interruptions.filter((i) => i.nodes > 0);
  const rows = noticed
    .slice(0, LISTED_INTERRUPTIONS)
    .map((i) => `<tr><td>${escapeHtml(formatTimestamp(t0Ms + i.noticeMinute * 60_000))}</td><td>${i.noticeMinute}</td><td>${i.reclaimMinute}</td><td>${i.nodes}</td><td>${offAt(i.noticeMinute, i.reclaimMinute)}</td></tr>`)
    .join('\n');
  return `<h2>ALB weights and spot interruptions</h2>
<p>${escapeHtml(run.policy)}'s fleet split ${Math.round((1 - run.spotShare) * 100)} % on-demand / ${Math.round(run.spotShare * 100)} % spot behind two target groups of one ALB rule. Seeded spot interruptions (seed ${run.seed}, one every ${run.meanMinutesBetweenInterruptions} minutes on average) each notice the whole spot group two minutes before EC2 reclaims it; the group relaunches its nodes at the reclaim minute. The <code>reweight</code> run steps every minute.
${noticed.length} interruptions, ${run.weightChanges} weight changes, ${run.minutesWithTrafficOnDrainingGroup} minutes with weight on a group whose targets were all draining.</p>
${weightsChartHtml(run, t0Ms)}
${rows === '' ? '' : `<table><thead><tr><th>notice (UTC)</th><th>notice minute</th><th>reclaim minute</th><th>nodes</th><th>spot weight 0 at minute</th></tr></thead><tbody>
${rows}
</tbody></table>${noticed.length > LISTED_INTERRUPTIONS ? `<p><small>First ${LISTED_INTERRUPTIONS} of ${noticed.length}; all are in summary.json under <code>traffic</code>.</small></p>` : ''}`}
<p><small><code>weights.csv</code> beside this file holds the weights of every minute.</small></p>`;
}

/** Inserts a section before `</body>` (or at the end when there is none). */
export function appendReportSection(html: string, section: string): string {
  const at = html.lastIndexOf('</body>');
  return at < 0 ? `${html}${section}\n` : `${html.slice(0, at)}${section}\n${html.slice(at)}`;
}
