// Overview: the period's headline figures, each against the previous period
// of the same length, and the daily series of the one picked.
import { downloadCsv, report } from '../api.js';
import { chart } from '../charts.js';
import { kind, label } from '../columns.js';
import { h } from '../dom.js';
import { change, dayAxis, fmt, signedRate } from '../format.js';
import { add, t } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, table } from '../table.js';

add({
  en: { 'overview.chart': 'Daily {figure}', 'overview.caption': '{figure} by day (UTC days)', 'overview.pick': 'Show {figure} by day',
    'overview.before': '{value} in the previous period', 'overview.before.none': 'no figure in the previous period',
    'overview.csv.compared': 'CSV: figures and previous period', 'overview.csv.daily': 'CSV: by day',
    'overview.excel.compared': 'CSV for Excel (French): figures and previous period', 'overview.excel.daily': 'CSV for Excel (French): by day',
    'overview.compared': 'the figures and the previous period’s', 'overview.daily': 'the overview by day',
    'overview.today': '{text} (today so far)' },
  fr: { 'overview.chart': '{figure} par jour', 'overview.caption': '{figure} par jour (jours UTC)', 'overview.pick': 'Afficher {figure} par jour',
    'overview.before': '{value} sur la période précédente', 'overview.before.none': 'pas de chiffre sur la période précédente',
    'overview.csv.compared': 'CSV : chiffres et période précédente', 'overview.csv.daily': 'CSV : par jour',
    'overview.excel.compared': 'CSV pour Excel : chiffres et période précédente', 'overview.excel.daily': 'CSV pour Excel : par jour',
    'overview.compared': 'les chiffres et ceux de la période précédente', 'overview.daily': 'la vue d’ensemble par jour',
    'overview.today': '{text} (aujourd’hui, jusqu’ici)' },
});

/** The index of today's day (UTC, as the series' days) in a daily series, -1 when the series has no today. */
export function todayAt(days, now) {
  var today = new Date(now).toISOString().slice(0, 10);
  return days.findIndex((day) => day.slice(0, 10) == today);
}

/** The figures shown as tiles, in order, when the report has them. */
export var FIGURES = ['visits', 'leads', 'online_sales', 'offline_sales', 'revenue', 'conversion_rate', 'cost_per_sale'];
// A lower figure is better for these: the change is coloured the other way.
var LOWER_IS_BETTER = ['cost_per_sale', 'cost_per_lead', 'bounce_rate'];

/**
 * Whether the overview's row holds any figure of the period (`previous`: of the previous period): the report
 * answers a period without data with zeros and nulls, not with no row.
 */
export function hasData(row, previous) {
  return Object.entries(row || {}).some(([k, v]) => k != 'period' && k.endsWith('_previous') == Boolean(previous) && v != null && v !== 0);
}

/**
 * What a tile says of a figure against the previous period's: the change, else the earlier figure itself (0
 * before is a figure, from which no change can be said), and "no earlier data" only when that period has none.
 */
export function compared(now, before, earlierHasData, k) {
  var delta = now === 0 && before === 0 ? 0 : change(now, before);
  if (!earlierHasData) return { delta: null, text: t('vs.none') };
  if (delta == null) return { delta, text: before == null ? t('overview.before.none') : t('overview.before', { value: fmt(before, k) }) };
  return { delta, text: `${signedRate(delta)} ${t('vs')}` };
}

/**
 * Whether the period has a previous one the API compares it with: as long as this one, it must begin in 1970 or
 * later (the API refuses it otherwise), so a period from 1990 is shown without one, and offers no CSV of it.
 */
export function comparable(params) {
  return 2 * Date.parse(params.from) - Date.parse(params.to) >= 0;
}

export var overview = {
  id: 'overview',
  keys: ['series'],
  async load(s, signal) {
    var params = state.common(s), compares = comparable(params);
    var [totals, series] = await Promise.all([
      report('overview', { ...params, ...(compares ? { compare: 'true' } : {}) }, signal),
      report('overview', { ...params, interval: 'day' }, signal),
    ]);
    return { totals: totals[0] || {}, series, compares };
  },
  isEmpty: (d) => !hasData(d.totals),
  render(d, s, set) {
    var figures = FIGURES.filter((f) => f in d.totals);
    var picked = figures.includes(s.series) ? s.series : figures[0];
    var earlier = hasData(d.totals, true);
    var tiles = h('div', { class: 'tiles' }, figures.map(function (f) {
      var now = d.totals[f], before = d.totals[`${f}_previous`], k = kind(f, now);
      var { delta, text: deltaText } = compared(now, before, earlier, k);
      var better = delta == null ? '' : (delta > 0) != LOWER_IS_BETTER.includes(f) ? 'up' : 'down';
      var seriesAvailable = d.series.length && f in d.series[0];
      var body = [
        h('span', { class: 'label' }, label(f)),
        h('span', { class: 'value', dataset: { key: f, value: now == null ? '' : String(now) } }, fmt(now, k)),
        h('span', { class: `delta ${delta ? better : ''}`, dataset: { previous: before == null ? '' : String(before) } }, deltaText),
      ];
      return seriesAvailable
        ? h('button', { type: 'button', class: 'tile', 'aria-pressed': String(f == picked), 'aria-label': null,
          title: t('overview.pick', { figure: label(f) }), onclick: () => set({ series: f }, true) }, body)
        : h('div', { class: 'tile' }, body);
    }));
    var parts = [tiles];
    if (d.series.length && picked in d.series[0]) {
      var k = kind(picked), axis = dayAxis(d.series.map((r) => String(r.period)));
      // A long period names its months or years on the axis (dayAxis), the others' days are dropped from it.
      var x = { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12,
        ...(axis.ticks ? { callback: (v) => axis.ticks.get(v) } : {}) },
      ...(axis.ticks ? { afterBuildTicks: (scale) => (scale.ticks = scale.ticks.filter((tick) => axis.ticks.has(tick.value))) } : {}) };
      // Today, not over yet, drawn dashed: a day of a few hours is no fall of the figure.
      var today = todayAt(d.series.map((r) => String(r.period)), Date.now());
      parts.push(chart(t('overview.chart', { figure: label(picked) }), {
        type: 'line',
        data: {
          labels: axis.labels,
          datasets: [{ label: label(picked), data: d.series.map((r) => r[picked]), borderColor: '#0072B2',
            backgroundColor: 'rgba(0,114,178,0.12)', fill: true, tension: 0.25, pointRadius: 2,
            segment: { borderDash: (c) => (c.p1DataIndex === today ? [5, 4] : undefined) } }],
        },
        options: { plugins: { legend: { display: false },
          tooltip: { callbacks: { label: (c) => {
            var text = `${label(picked)}: ${fmt(c.parsed.y, k)}`;
            return c.dataIndex === today ? t('overview.today', { text }) : text;
          } } } },
        scales: { x, y: { beginAtZero: true, ticks: {
          // Counts and whole euros step by whole units: a day with 0 to 2 leads must not read 0, 0, 1, 1, 1, 2.
          precision: k == 'rate' ? undefined : 0,
          callback: (v) => fmt(v, k == 'rate' ? 'rate' : k == 'money' ? 'money' : 'count') } } } },
      }, 240));
      var cols = ['period', ...FIGURES.filter((f) => f in d.series[0])];
      parts.push(h('details', { class: 'as-table' }, h('summary', null, t('chart.table')),
        table({ caption: t('overview.caption', { figure: label(picked) }), columns: cols.map((c) => ({ key: c, label: c == 'period' ? t('col.day') : label(c), kind: c == 'period' ? 'text' : kind(c) })), rows: d.series })));
    }
    // The headline figures beside the previous period's, as the API computed them (compare=true), and the series.
    parts.push(h('div', { class: 'table-tools' },
      d.compares ? csvButton(t('overview.compared'), (excel) => downloadCsv('overview', { ...state.common(s), compare: 'true' }, 'overview-compared.csv', excel),
        t('overview.csv.compared'), t('overview.excel.compared')) : null,
      d.series.length ? csvButton(t('overview.daily'),
        (excel) => downloadCsv('overview', { ...state.common(s), interval: 'day' }, 'overview-daily.csv', excel), t('overview.csv.daily'),
        t('overview.excel.daily')) : null));
    return parts;
  },
};
