// Brokers and points of sale: per broker, the traffic brought and the sales
// signed; then the media × point-of-sale heat map: for the sales each broker
// signed, the levers that brought those customers, under the page's model.
import { downloadCsv, report } from '../api.js';
import { columnsOf } from '../columns.js';
import { h } from '../dom.js';
import { add, lang, leverName, t } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, table } from '../table.js';
import { modelSelect } from './attribution.js';
import { BROKER_KEY, heatRows } from '../heat.js';

add({
  en: { 'brokers.caption': 'Traffic brought and sales signed per broker; sales attributed by the model “{model}”',
    'brokers.heat': 'Media × point of sale', 'brokers.heat.caption': 'Sales signed by each broker (rows), credited to the levers that brought the customers (columns); model: {model}',
    'brokers.heat.empty': 'No offline sale signed by a broker in this period.', 'brokers.pick': 'Filter the page by this broker',
    'brokers.nolever': 'No online touch' },
  fr: { 'brokers.caption': 'Trafic apporté et ventes signées par courtier ; ventes attribuées selon le modèle « {model} »',
    'brokers.heat': 'Média × point de vente', 'brokers.heat.caption': 'Ventes signées par chaque courtier (lignes), attribuées aux leviers qui ont amené les clients (colonnes) ; modèle : {model}',
    'brokers.heat.empty': 'Aucune vente hors ligne signée par un courtier sur la période.', 'brokers.pick': 'Filtrer la page sur ce courtier',
    'brokers.nolever': 'Aucun contact en ligne' },
});

function params(s) {
  return { ...state.common(s), ...state.credit(s) };
}

function heatParams(s) {
  // The heat map credits the online touches that brought each signed sale: no point-of-sale option.
  return { ...state.common(s), model: s.model, lookback: s.lookback };
}

export var brokers = {
  id: 'brokers',
  keys: ['model', 'lookback', 'offline'],
  sortKey: 'bsort', // its own: the levers' table keeps its order
  controls: (s, set) => [modelSelect(s, set)],
  async load(s, signal) {
    var [traffic, heat] = await Promise.all([report('brokers', params(s), signal), report('media_pos', heatParams(s), signal)]);
    return { traffic, heat };
  },
  isEmpty: (d) => !d.traffic.length && !d.heat.length,
  render(d, s, set) {
    var parts = [];
    if (d.traffic.length) {
      var key = 'broker_id' in d.traffic[0] ? 'broker_id' : Object.keys(d.traffic[0])[0];
      parts.push(table({ caption: t('brokers.caption', { model: t(`model.${s.model}`) }), columns: columnsOf(d.traffic), rows: d.traffic, sort: s.bsort,
        onsort: (v) => set({ bsort: v }, true), onpick: state.supportedFilters().includes('broker') ? (r) => set({ broker: String(r[key]) }) : null, pickLabel: t('brokers.pick') }));
      parts.push(h('div', { class: 'table-tools' }, csvButton(t('panel.brokers'), (excel) => downloadCsv('brokers', params(s), 'brokers.csv', excel))));
    }
    parts.push(h('h3', null, t('brokers.heat')));
    if (!d.heat.length) {
      parts.push(h('p', { class: 'note' }, t('brokers.heat.empty')));
    } else {
      var heat = heatRows(d.heat, leverName, lang());
      parts.push(table({ caption: t('brokers.heat.caption', { model: t(`model.${heatParams(s).model}`) }), heat: true,
        columns: [{ key: BROKER_KEY, label: t('col.broker'), kind: 'text' }, ...heat.levers.map((l) => ({ key: l, label: l ? leverName(l) : t('brokers.nolever'), kind: 'decimal', heat: true, source: 'conversions' }))],
        rows: heat.rows }));
      parts.push(h('div', { class: 'table-tools' }, csvButton(t('brokers.heat'), (excel) => downloadCsv('media_pos', heatParams(s), 'media-point-of-sale.csv', excel))));
    }
    return parts;
  },
};
