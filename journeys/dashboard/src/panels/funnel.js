// Funnel per form: bars per step (visitors who reached it), the drop-off from
// the previous required step, abandonment and time on step; a breakdown.
import { downloadCsv, report } from '../api.js';
import { chart, colour } from '../charts.js';
import { CONFIG } from '../config.js';
import { h, select } from '../dom.js';
import { fmt, visible } from '../format.js';
import { add, deviceName, leverName, t, tn } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, table } from '../table.js';

add({
  en: { 'funnel.form': 'Form', 'funnel.by': 'Breakdown', 'funnel.none': 'None', 'funnel.step': 'Step',
    'funnel.visitors': 'Visitors', 'funnel.completions': 'Completions', 'funnel.from_previous': 'From previous step',
    'funnel.from_first': 'From first step', 'funnel.drop_off': 'Drop-off', 'funnel.abandons': 'Abandons',
    'funnel.median': 'Median time', 'funnel.p90': '90th pct time', 'funnel.optional': 'optional',
    'funnel.submit': 'Quote submitted (leads)', 'funnel.chart': 'Visitors at each step of the form {form}',
    'funnel.caption': 'Funnel of the form {form}, step by step. Visitors and drop-off count visitors; abandons count sessions; completions count the step’s events (a visitor may send several)', 'funnel.lost': 'lost', 'funnel.lost.one': 'lost',
    'funnel.no.lever': '(no lever)', 'funnel.no.campaign': '(no campaign)', 'funnel.no.broker': '(no broker)',
    'funnel.no.device': '(unknown device)', 'funnel.no.value': '(no value)' },
  fr: { 'funnel.form': 'Formulaire', 'funnel.by': 'Ventilation', 'funnel.none': 'Aucune', 'funnel.step': 'Étape',
    'funnel.visitors': 'Visiteurs', 'funnel.completions': 'Validations', 'funnel.from_previous': 'Depuis l’étape précédente',
    'funnel.from_first': 'Depuis la première étape', 'funnel.drop_off': 'Pertes', 'funnel.abandons': 'Abandons',
    'funnel.median': 'Temps médian', 'funnel.p90': 'Temps 9e décile', 'funnel.optional': 'facultative',
    'funnel.submit': 'Devis envoyé (leads)', 'funnel.chart': 'Visiteurs à chaque étape du formulaire {form}',
    'funnel.caption': 'Entonnoir du formulaire {form}, étape par étape. Visiteurs et pertes comptent des visiteurs ; abandons, des sessions ; validations, les envois de l’étape (un visiteur peut en faire plusieurs)', 'funnel.lost': 'perdus', 'funnel.lost.one': 'perdu',
    'funnel.no.lever': '(sans levier)', 'funnel.no.campaign': '(sans campagne)', 'funnel.no.broker': '(sans courtier)',
    'funnel.no.device': '(appareil inconnu)', 'funnel.no.value': '(sans valeur)' },
});

var BREAKDOWNS = ['lever', 'campaign', 'broker', 'device'];

function params(s) {
  // A form or breakdown the page does not offer (a link edited by hand, a plan changed since) is the default's.
  var forms = CONFIG.forms.map((f) => f.id);
  var form = forms.includes(s.form) ? s.form : forms[0] || '';
  var by = CONFIG.funnelBy && [...BREAKDOWNS, ...offered(form).map((p) => p.id)].includes(s.by) ? s.by : '';
  return { ...state.common(s), form, by };
}

/** The plan's properties offered as breakdowns of a form's funnel: those its steps, its submit or any event carry. */
var offered = (form) => CONFIG.breakdowns.filter((p) => !p.forms || p.forms.includes(form));

/**
 * A breakdown's name: a filter's word in the page's language, else the plan property's `label` as the plan
 * writes it, else its id as the plan writes it (ad_consent). The id is not made into words: "Ad consent" read
 * as English on the French page, and the plan, in one language, is the only source of a property's name.
 */
export function breakdownLabel(by) {
  if (BREAKDOWNS.includes(by)) return t('filter.' + by);
  var declared = CONFIG.breakdowns.find((p) => p.id == by);
  return (declared && declared.label) || String(by);
}

function label(row) {
  return row.step == 'submit' ? t('funnel.submit') : row.label || row.step;
}

export var funnel = {
  id: 'funnel',
  keys: ['form', 'by'],
  controls(s, set) {
    var forms = CONFIG.forms.map((f) => [f.id, f.label || f.id]);
    var bys = [['', t('funnel.none')], ...BREAKDOWNS.map((b) => [b, t('filter.' + b)]), ...offered(params(s).form).map((p) => [p.id, breakdownLabel(p.id)])];
    return [
      forms.length > 1 ? select(t('funnel.form'), params(s).form, forms, (v) => set({ form: v })) : null,
      CONFIG.funnelBy ? select(t('funnel.by'), params(s).by, bys, (v) => set({ by: v })) : null,
    ].filter(Boolean);
  },
  load: (s, signal) => report('funnel', params(s), signal),
  isEmpty: (rows) => !rows.length || rows.every((r) => !r.visitors),
  render(rows, s) {
    var form = params(s).form;
    var formLabel = (CONFIG.forms.find((f) => f.id == form) || {}).label || form;
    // With a breakdown the report adds a `segment` column (the lever, campaign, broker, device or property value).
    var asked = params(s).by;
    var by = asked && rows.length ? ('segment' in rows[0] ? 'segment' : asked in rows[0] ? asked : '') : '';
    // A lever's or a device's value under its words in the page's language ("Ordinateur"), as the filters show them.
    var named = asked == 'lever' ? leverName : asked == 'device' ? deviceName : null;
    // The visitors without a value (no broker's link, no campaign) said so: their series, the largest, was "–".
    var none = t(BREAKDOWNS.includes(asked) ? `funnel.no.${asked}` : 'funnel.no.value');
    var segment = (g) => (g == null || g === '' ? none : visible(named ? named(g) : String(g))); // every character shown
    var parts = [];
    if (by) {
      var groups = [...new Set(rows.map((r) => r[by]))].slice(0, 8);
      var steps = rows.filter((r) => r[by] == groups[0]);
      parts.push(chart(t('funnel.chart', { form: formLabel }), {
        type: 'bar',
        data: {
          labels: steps.map(label),
          datasets: groups.map((g, i) => ({ label: segment(g), backgroundColor: colour(i),
            data: steps.map((st) => (rows.find((r) => r[by] == g && r.step_index == st.step_index) || {}).visitors || 0) })),
        },
        options: { scales: { y: { beginAtZero: true } } },
      }, 300));
    } else {
      var first = rows[0].visitors || 0;
      parts.push(h('ol', { class: 'funnel-steps', 'aria-label': t('funnel.chart', { form: formLabel }) }, rows.map(function (r, i) {
        var width = first ? Math.max(0.5, (100 * r.visitors) / first) : 0;
        var fill = h('div', { class: 'fill' });
        fill.style.width = `${width}%`;
        return h('li', { dataset: { step: r.step } },
          h('span', { class: 'name' }, label(r), r.optional ? h('small', null, ` (${t('funnel.optional')})`) : null),
          h('div', { class: 'bar', role: 'presentation' }, fill),
          h('span', { class: 'drop' },
            h('strong', { dataset: { key: 'visitors', value: String(r.visitors) } }, fmt(r.visitors, 'count')),
            r.from_first != null ? ` · ${fmt(r.from_first, 'rate')}` : '',
            i > 0 && r.drop_off ? h('span', { class: 'lost' }, ` −${fmt(r.drop_off, 'count')} ${tn('funnel.lost', r.drop_off)}`) : ''));
      })));
    }
    var columns = [
      { key: 'label', label: t('funnel.step'), kind: 'text' },
      ...(by ? [{ key: by, label: breakdownLabel(asked), kind: 'text', none, text: (v) => visible(named ? named(v) : v) }] : []),
      { key: 'visitors', label: t('funnel.visitors'), kind: 'count' },
      { key: 'from_previous', label: t('funnel.from_previous'), kind: 'rate' },
      { key: 'from_first', label: t('funnel.from_first'), kind: 'rate' },
      { key: 'drop_off', label: t('funnel.drop_off'), kind: 'count' },
      { key: 'abandons', label: t('funnel.abandons'), kind: 'count' },
      { key: 'completions', label: t('funnel.completions'), kind: 'count' },
      { key: 'median_seconds', label: t('funnel.median'), kind: 'duration' },
      { key: 'p90_seconds', label: t('funnel.p90'), kind: 'duration' },
    ];
    var shown = rows.map((r) => ({ ...r, label: label(r) }));
    parts.push(table({ caption: t('funnel.caption', { form: formLabel }), columns, rows: shown }));
    parts.push(h('div', { class: 'table-tools' }, csvButton(t('panel.funnel'), (excel) => downloadCsv('funnel', params(s), `funnel-${form}.csv`, excel))));
    return parts;
  },
};
