// Levers and campaigns: one row per lever (or campaign) with traffic, leads,
// online and offline sales, revenue and, when costs are imported, cost
// metrics; sortable; a row's name filters the whole page by it. Sales are
// credited by the page's attribution model (a control here and on the
// brokers panel), lookback window and point-of-sale switch (the Attribution
// panel's), as everywhere on the page.
import { downloadCsv, report } from '../api.js';
import { chart, colour } from '../charts.js';
import { columnsOf, label } from '../columns.js';
import { h, toggle } from '../dom.js';
import { visible } from '../format.js';
import { add, leverName, t } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, table } from '../table.js';
import { modelSelect } from './attribution.js';

add({
  en: { 'levers.view': 'Rows', 'levers.by.lever': 'Levers', 'levers.by.campaign': 'Campaigns',
    'levers.chart.one': '{figure} per {view}', 'levers.caption': 'Figures per {view}; sales credited by the model “{model}”; sort by a column',
    'levers.one.lever': 'lever', 'levers.one.campaign': 'campaign',
    'levers.pick': 'Filter the page by this value', 'levers.nocampaign': '(no campaign)' },
  fr: { 'levers.view': 'Lignes', 'levers.by.lever': 'Leviers', 'levers.by.campaign': 'Campagnes',
    'levers.chart.one': '{figure} par {view}', 'levers.caption': 'Chiffres par {view} ; ventes attribuées selon le modèle « {model} » ; triez par colonne',
    'levers.one.lever': 'levier', 'levers.one.campaign': 'campagne',
    'levers.pick': 'Filtrer la page sur cette valeur', 'levers.nocampaign': '(sans campagne)' },
});

var REPORT = { lever: 'levers', campaign: 'campaigns' };
var SALES = ['sales', 'conversions', 'online_sales'];

function params(s) {
  return { ...state.common(s), ...state.credit(s) };
}

/**
 * A bar's name cut short with an ellipsis to fit `width` pixels (Chart.js gives the names at most half the chart and
 * cut them on the left: "ewsletter-rentree · E-mail" on a phone); the tooltip and the table keep it whole.
 */
export function shortened(text, width) {
  var most = Math.max(8, Math.floor((width - 16) / 7)); // 12 px text: at most some 7 px a character
  return text.length <= most ? text : text.slice(0, most - 1).trimEnd() + '…';
}

export var levers = {
  id: 'levers',
  keys: ['view', 'model', 'lookback', 'offline'],
  sortKey: 'sort',
  controls: (s, set) => [
    toggle('levers', t('levers.view'), s.view, [['lever', t('levers.by.lever')], ['campaign', t('levers.by.campaign')]],
      (v) => set({ view: v, sort: '' })),
    modelSelect(s, set),
  ],
  load: (s, signal) => report(REPORT[s.view] || 'levers', params(s), signal),
  isEmpty: (rows) => !rows.length,
  render(rows, s, set) {
    var view = REPORT[s.view] ? s.view : 'lever';
    // Campaigns come as (lever, segment): the campaign is the segment, named by its lever in the chart.
    var key = view == 'campaign' && 'segment' in rows[0] ? 'segment' : view in rows[0] ? view : Object.keys(rows[0])[0];
    // A lever's visits without a utm_campaign come as a campaign "": named so, where "–" read as a figure missing.
    var none = t('levers.nocampaign');
    var name = (r) => visible(view == 'campaign' && key != 'lever' ? `${r[key] || none} · ${leverName(r.lever)}`
      : key == 'lever' ? leverName(r[key]) || '–' : r[key] || '–'); // every character shown (table.js)
    var viewName = t(`levers.one.${view}`);
    var top = rows.slice(0, 12);
    var sales = SALES.find((c) => c in rows[0]);
    var figures = ['visits', sales].filter((c) => c && c in rows[0]);
    var columns = columnsOf(rows).map((c) => (c.key == 'segment' ? { ...c, label: t(`col.${view}`) } : c))
      .map((c) => (view == 'campaign' && c.key == key ? { ...c, none } : c));
    columns.unshift(...columns.splice(columns.findIndex((c) => c.key == key), 1));
    // One chart per figure, each on its own scale: visits run in the hundreds where sales are a handful.
    var charts = figures.map((f, i) => chart(t('levers.chart.one', { figure: label(f), view: viewName }), {
      type: 'bar',
      data: { labels: top.map(name), datasets: [{ label: label(f), data: top.map((r) => r[f]), backgroundColor: colour(i) }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false }, title: { display: true, text: label(f), align: 'start' } },
        scales: { x: { beginAtZero: true }, y: { ticks: { autoSkip: false, callback(value) {
          return shortened(this.getLabelForValue(value), this.chart.width / 2);
        } } } } },
    }, Math.max(180, 26 * top.length + 60)));
    return [
      h('div', { class: 'two even' }, charts),
      table({
        caption: t('levers.caption', { view: viewName, model: t(`model.${s.model}`) }), columns, rows, sort: s.sort,
        onsort: (v) => set({ sort: v }, true),
        onpick: state.supportedFilters().includes(view) ? (r) => set({ [view]: String(r[key]) }) : null, pickLabel: t('levers.pick'),
      }),
      h('div', { class: 'table-tools' }, csvButton(t(`levers.by.${view}`),
        (excel) => downloadCsv(REPORT[view], params(s), `${REPORT[view]}.csv`, excel))),
    ];
  },
};
