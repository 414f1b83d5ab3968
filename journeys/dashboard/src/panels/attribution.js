// Attribution: the seven models side by side for each lever (grouped bars),
// in conversions or revenue; the lookback window and whether an offline sale
// adds its point of sale as the last touch are controls, sent to the API.
import { downloadCsv, report } from '../api.js';
import { chart, colour } from '../charts.js';
import { h, select, toggle, uid } from '../dom.js';
import { fmt } from '../format.js';
import { add, leverName, t } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, table } from '../table.js';

add({
  en: { 'attribution.view': 'Credit', 'attribution.conversions': 'Sales', 'attribution.revenue': 'Revenue',
    'attribution.lookback': 'Lookback window', 'attribution.offline': 'Point of sale as last touch',
    'attribution.days': '{n} days', 'attribution.chart': '{metric} credited to each lever by each of the seven models',
    'attribution.caption': '{metric} credited per lever (rows) and model (columns)',
    'model.label': 'Attribution model', 'model.first_touch': 'First touch', 'model.last_touch': 'Last touch', 'model.last_non_direct': 'Last non-direct',
    'model.linear': 'Linear', 'model.position_based': 'Position-based', 'model.time_decay': 'Time decay', 'model.markov': 'Data-driven (Markov)' },
  fr: { 'attribution.view': 'Crédit', 'attribution.conversions': 'Ventes', 'attribution.revenue': 'Chiffre d’affaires',
    'attribution.lookback': 'Fenêtre d’attribution', 'attribution.offline': 'Point de vente en dernier contact',
    'attribution.days': '{n} jours', 'attribution.chart': 'Crédit de chaque levier ({metric}) selon chacun des sept modèles',
    'attribution.caption': 'Crédit ({metric}) par levier (lignes) et modèle (colonnes)',
    'model.label': 'Modèle d’attribution', 'model.first_touch': 'Premier contact', 'model.last_touch': 'Dernier contact', 'model.last_non_direct': 'Dernier non direct',
    'model.linear': 'Linéaire', 'model.position_based': 'En U (40/20/40)', 'model.time_decay': 'Dégressif dans le temps', 'model.markov': 'Piloté par les données (Markov)' },
});

function params(s) {
  return { ...state.common(s), ...state.credit(s), model: 'all' };
}

/** The page's attribution model, for the panels that credit sales under one model. */
export function modelSelect(s, set) {
  return select(t('model.label'), s.model, state.MODELS.map((m) => [m, t(`model.${m}`)]), (v) => set({ model: v }));
}

/** Rows of {lever, <model>: value} from the API's one object per (model, lever). */
export function pivot(rows, metric) {
  var levers = [...new Set(rows.map((r) => r.lever))];
  return levers.map(function (lever) {
    var out = { lever };
    for (var m of state.MODELS) {
      var r = rows.find((x) => x.lever == lever && x.model == m);
      out[m] = r ? r[metric] : null;
    }
    return out;
  });
}

export var attribution = {
  id: 'attribution',
  asksFirst: true,
  keys: ['lookback', 'offline'],
  controls(s, set) {
    var id = uid('offline');
    return [
      toggle('attribution', t('attribution.view'), s.metric, [['conversions', t('attribution.conversions')], ['revenue', t('attribution.revenue')]],
        (v) => set({ metric: v }, true)),
      select(t('attribution.lookback'), s.lookback, state.LOOKBACKS.map((l) => [l, t('attribution.days', { n: parseInt(l, 10) })]),
        (v) => set({ lookback: v })),
      h('span', { class: 'control' }, h('input', { id, type: 'checkbox', checked: s.offline == '1',
        onchange: (e) => set({ offline: e.target.checked ? '1' : '0' }) }), h('label', { for: id }, t('attribution.offline'))),
    ];
  },
  load: (s, signal) => report('attribution', params(s), signal),
  isEmpty: (rows) => !rows.length || rows.every((r) => !r.conversions),
  render(rows, s) {
    var metric = s.metric == 'revenue' ? 'revenue' : 'conversions';
    var kind = metric == 'revenue' ? 'money' : 'decimal';
    var table_rows = pivot(rows, metric);
    var metricName = t(`attribution.${metric}`);
    return [
      chart(t('attribution.chart', { metric: metricName }), {
        type: 'bar',
        data: { labels: table_rows.map((r) => leverName(r.lever)),
          datasets: state.MODELS.map((m, i) => ({ label: t(`model.${m}`), data: table_rows.map((r) => r[m]), backgroundColor: colour(i) })) },
        options: { scales: { y: { beginAtZero: true } },
          plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(c.parsed.y, kind)}` } } } },
      }, 320),
      table({ caption: t('attribution.caption', { metric: metricName }),
        columns: [{ key: 'lever', label: t('col.lever'), kind: 'text', text: leverName }, ...state.MODELS.map((m) => ({ key: m, label: t(`model.${m}`), kind, source: metric }))],
        rows: table_rows }),
      h('div', { class: 'table-tools' }, csvButton(t('panel.attribution'), (excel) => downloadCsv('attribution', params(s), 'attribution.csv', excel))),
    ];
  },
};
