// Levers and campaigns: one row per lever (or campaign) with traffic, leads,
// online and offline sales, revenue and, when costs are imported, cost
// metrics; sortable; a row's name filters the whole page by it.
import { downloadCsv, report } from '../api.js';
import { chart, colour } from '../charts.js';
import { columnsOf, label } from '../columns.js';
import { h } from '../dom.js';
import { add, t } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, table } from '../table.js';

add({
  en: { 'levers.view': 'Rows', 'levers.by.lever': 'Levers', 'levers.by.campaign': 'Campaigns',
    'levers.chart': 'Visits and sales per {view}', 'levers.caption': 'Figures per {view}; sort by a column',
    'levers.pick': 'Filter the page by this value' },
  fr: { 'levers.view': 'Lignes', 'levers.by.lever': 'Leviers', 'levers.by.campaign': 'Campagnes',
    'levers.chart': 'Visites et ventes par {view}', 'levers.caption': 'Chiffres par {view} ; triez par colonne',
    'levers.pick': 'Filtrer la page sur cette valeur' },
});

var REPORT = { lever: 'levers', campaign: 'campaigns' };
var SALES = ['conversions', 'sales', 'online_conversions'];

export function toggle(name, value, options, onpick) {
  return h('span', { class: 'control' }, h('span', { class: 'toggle-label', id: `${name}-label` }, t(`${name}.view`)),
    h('span', { class: 'toggle', role: 'group', 'aria-labelledby': `${name}-label` }, options.map(([v, text]) =>
      h('button', { type: 'button', 'aria-pressed': String(v == value), onclick: () => onpick(v) }, text))));
}

export var levers = {
  id: 'levers',
  keys: ['view'],
  controls: (s, set) => [toggle('levers', s.view, [['lever', t('levers.by.lever')], ['campaign', t('levers.by.campaign')]],
    (v) => set({ view: v, sort: '' }))],
  load: (s, signal) => report(REPORT[s.view] || 'levers', state.common(s), signal),
  isEmpty: (rows) => !rows.length,
  render(rows, s, set) {
    var view = REPORT[s.view] ? s.view : 'lever';
    var key = view in rows[0] ? view : Object.keys(rows[0])[0];
    var viewName = t(`levers.by.${view}`).toLowerCase();
    var top = rows.slice(0, 12);
    var sales = SALES.find((c) => c in rows[0]);
    var figures = ['visits', sales].filter((c) => c && c in rows[0]);
    var columns = columnsOf(rows);
    columns.unshift(...columns.splice(columns.findIndex((c) => c.key == key), 1));
    return [
      h('div', { class: 'two' },
        table({
          caption: t('levers.caption', { view: viewName }), columns, rows, sort: s.sort,
          onsort: (v) => set({ sort: v }, true),
          onpick: state.supportedFilters().includes(view) ? (r) => set({ [view]: String(r[key]) }) : null, pickLabel: t('levers.pick'),
        }),
        chart(t('levers.chart', { view: viewName }), {
          type: 'bar',
          data: { labels: top.map((r) => r[key] || '–'),
            datasets: figures.map((f, i) => ({ label: label(f), data: top.map((r) => r[f]), backgroundColor: colour(i) })) },
          options: { indexAxis: 'y', scales: { x: { beginAtZero: true } } },
        }, Math.max(220, 34 * top.length + 60))),
      h('div', { class: 'table-tools' }, csvButton(t(`levers.by.${view}`),
        () => downloadCsv(REPORT[view], state.common(s), `${REPORT[view]}.csv`))),
    ];
  },
};
