// Bar charts as inline SVG: no library, no network. `groups` = [{label, values: {series: n}}], stacked per group.
import { h } from '../ui.js';
import { t } from '../i18n.js';
import { who, day } from './office-common.js';

const NS = 'http://www.w3.org/2000/svg';
const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#0ea5e9', '#84cc16', '#ec4899', '#64748b', '#14b8a6'];

function s(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...kids);
  return el;
}

/** A stacked bar chart; `label(series)` names a series in the legend, `fmt(n)` a value. */
export function barChart({ title, groups, label = (x) => x, fmt = String }) {
  const series = [...new Set(groups.flatMap((g) => Object.keys(g.values)))];
  const color = (k) => COLORS[series.indexOf(k) % COLORS.length];
  const sums = groups.map((g) => Object.values(g.values).reduce((a, b) => a + b, 0));
  if (!sums.some((n) => n > 0)) return h('figure.chart', { 'data-chart': title }, h('figcaption', title), h('p.muted', t('dealer.none')));
  const max = Math.max(1, ...sums);
  const W = 640, H = 220, L = 44, B = 40, T = 10;
  const bw = (W - L - 10) / Math.max(1, groups.length);
  const y = (n) => T + (H - T - B) * (1 - n / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' });
  for (const n of new Set([0, Math.round(max / 2), max])) {
    svg.append(s('line', { x1: L, x2: W - 10, y1: y(n), y2: y(n), class: 'grid' }),
      s('text', { x: L - 4, y: y(n) + 4, 'text-anchor': 'end' }, fmt(n)));
  }
  const every = Math.ceil(groups.length / 12); // at most 12 labels on the axis
  groups.forEach((g, i) => {
    let base = 0;
    const x = L + i * bw + bw * 0.15;
    for (const k of series) {
      const n = g.values[k] ?? 0;
      if (!n) continue;
      svg.append(s('rect', { x, y: y(base + n), width: bw * 0.7, height: y(base) - y(base + n), fill: color(k), 'data-series': k },
        s('title', {}, `${g.label} · ${label(k)}: ${fmt(n)}`)));
      base += n;
    }
    if (i % every === 0) svg.append(s('text', { x: x + bw * 0.35, y: H - B + 14, 'text-anchor': 'middle' }, g.label));
  });
  return h('figure.chart', { 'data-chart': title }, h('figcaption', title), svg,
    series.length > 1 || groups.length ? h('div.legend', series.map((k) => h('span', h('i', { style: `background:${color(k)}` }), label(k)))) : null);
}

/** Visits per week per manager, from the server's totals. */
export function visitsChart(perWeek, title = t('office.visitsPerWeek')) {
  const weeks = new Map();
  for (const r of perWeek) {
    const g = weeks.get(r.week) ?? { label: day(r.week).slice(5), values: {} };
    g.values[r.manager] = r.n;
    weeks.set(r.week, g);
  }
  return barChart({ title, groups: [...weeks.values()], label: who });
}

/** Open problems by age, from the server's totals. */
export function ageChart(buckets) {
  return barChart({ title: t('office.problemsByAge'), label: () => t('office.openProblems'),
    groups: buckets.map((b) => ({ label: b.until_days == null ? `${b.from_days}+ ${t('office.days')}` : `${b.from_days}–${b.until_days - 1} ${t('office.days')}`, values: { open: b.n } })) });
}

/** Spend per category over months (the commonest currency), from the server's totals. */
export function spendChart(rows) {
  const cur = {};
  for (const r of rows) cur[r.currency] = (cur[r.currency] ?? 0) + r.spend_minor;
  const currency = Object.entries(cur).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const months = new Map();
  for (const r of rows.filter((x) => x.currency === currency && x.spend_minor)) {
    const g = months.get(r.month) ?? { label: r.month, values: {} };
    g.values[r.category] = r.spend_minor / 100;
    months.set(r.month, g);
  }
  return barChart({ title: currency ? `${t('office.spendByMonth')} (${currency})` : t('office.spendByMonth'), groups: [...months.values()], label: (c) => t('ecat.' + c) });
}

