// Journeys: the most frequent lever sequences that led to a sale, as a flow
// (Sankey) and a table; and one person's journey on demand, found by quote id
// or by the phone number typed here. The phone goes in a POST body (never a
// URL, so no log has it), is hashed by the server, and is never shown: the
// field is emptied once sent.
import { ApiError, downloadCsv, report, reportPost } from '../api.js';
import { SALE, chart, colour, inkOn } from '../charts.js';
import { columnsOf, kind, label } from '../columns.js';
import { CONFIG } from '../config.js';
import { h, uid } from '../dom.js';
import { errorWhy } from '../errors.js';
import { fmt, shortDay } from '../format.js';
import { add, deviceName, lang, leverName, t, tn } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, table } from '../table.js';

add({
  en: { 'journeys.chart': 'Most frequent paths to a sale, lever by lever', 'journeys.caption': 'Most frequent paths to a sale',
    'journeys.sale': 'Sale', 'journeys.person': 'A person’s journey', 'journeys.by': 'Find by',
    'journeys.quote': 'Quote id', 'journeys.phone': 'Phone number', 'journeys.find': 'Show the journey',
    'journeys.phone.note': 'The number is sent to the server to be hashed; it is not kept, logged or shown.',
    'journeys.none': 'No one found with this {what}.', 'journeys.result': 'Journey of the person found ({n} steps)',
    'journeys.result.one': 'Journey of the person found ({n} step)',
    'journeys.searching': 'Searching…', 'journeys.kind.visit': 'Visit', 'journeys.kind.step': 'Step',
    'journeys.kind.abandon': 'Left the form', 'journeys.kind.quote': 'Quote sent', 'journeys.kind.sale': 'Sale signed',
    'journeys.pages': '{n} pages', 'journeys.pages.one': '{n} page', 'journeys.cancelled': 'cancelled {day}',
    'status.signed': 'signed', 'status.cancelled': 'cancelled', 'status.withdrawn': 'withdrawn', 'status.reinstated': 'reinstated' },
  fr: { 'journeys.chart': 'Chemins les plus fréquents vers une vente, levier par levier', 'journeys.caption': 'Chemins les plus fréquents vers une vente',
    'journeys.sale': 'Vente', 'journeys.person': 'Le parcours d’une personne', 'journeys.by': 'Rechercher par',
    'journeys.quote': 'Numéro de devis', 'journeys.phone': 'Numéro de téléphone', 'journeys.find': 'Afficher le parcours',
    'journeys.phone.note': 'Le numéro est envoyé au serveur pour être haché ; il n’est ni conservé, ni journalisé, ni affiché.',
    'journeys.none': 'Aucune personne trouvée avec ce {what}.', 'journeys.result': 'Parcours de la personne trouvée ({n} étapes)',
    'journeys.result.one': 'Parcours de la personne trouvée ({n} étape)',
    'journeys.searching': 'Recherche…', 'journeys.kind.visit': 'Visite', 'journeys.kind.step': 'Étape',
    'journeys.kind.abandon': 'Formulaire quitté', 'journeys.kind.quote': 'Devis envoyé', 'journeys.kind.sale': 'Vente signée',
    'journeys.pages': '{n} pages', 'journeys.pages.one': '{n} page', 'journeys.cancelled': 'annulée le {day}',
    'status.signed': 'signée', 'status.cancelled': 'annulée', 'status.withdrawn': 'rétractée', 'status.reinstated': 'rétablie' },
});

var TOP = 15;

export function steps(path) {
  return Array.isArray(path) ? path.map(String) : String(path).split(/\s*(?:>|→)\s*/).filter(Boolean);
}

/** Sankey flows from the paths: position i's lever to position i+1's, the last to the sale. */
export function flows(rows, sale) {
  var out = new Map();
  for (var r of rows.slice(0, TOP)) {
    var seq = steps(r.path), n = r.conversions ?? r.count ?? 0;
    for (var i = 0; i < seq.length; i++) {
      var from = `${i + 1}. ${seq[i]}`, to = i + 1 < seq.length ? `${i + 2}. ${seq[i + 1]}` : sale;
      out.set(`${from}\u0000${to}`, (out.get(`${from}\u0000${to}`) || 0) + n);
    }
  }
  return [...out].map(([k, flow]) => ({ from: k.split('\u0000')[0], to: k.split('\u0000')[1], flow }));
}

function personSearch() {
  var byId = uid('by'), inputId = uid('who'), noteId = uid('note');
  var result = h('div', { class: 'person-result', 'aria-live': 'polite' });
  var kindSel = h('select', { id: byId }, h('option', { value: 'quote_id' }, t('journeys.quote')), h('option', { value: 'phone' }, t('journeys.phone')));
  var input = h('input', { id: inputId, type: 'search', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: '64' });
  var note = h('p', { id: noteId, class: 'note', hidden: true }, t('journeys.phone.note'));
  kindSel.addEventListener('change', function () {
    input.type = kindSel.value == 'phone' ? 'tel' : 'search';
    note.hidden = kindSel.value != 'phone';
    input.setAttribute('aria-describedby', kindSel.value == 'phone' ? noteId : '');
  });
  var form = h('form', { class: 'search', role: 'search', onsubmit: async function (e) {
    e.preventDefault();
    var kind = kindSel.value, value = input.value.trim();
    if (!value) return;
    if (kind == 'phone') input.value = ''; // sent, then gone from the page
    result.replaceChildren(h('p', { class: 'note', role: 'status' }, t('journeys.searching')));
    try {
      var rows = await reportPost('person', { [kind]: value });
      result.replaceChildren(...renderPerson(rows, kind));
    } catch (err) {
      result.replaceChildren(h('div', { class: 'state error', role: 'alert' }, h('p', null, t('error')),
        errorWhy(err instanceof ApiError ? err : new TypeError(String(err)))));
    }
  } },
  h('span', { class: 'field' }, h('label', { for: byId }, t('journeys.by')), kindSel),
  h('span', { class: 'field' }, h('label', { for: inputId }, t('journeys.quote')), input),
  h('button', { type: 'submit' }, t('journeys.find')));
  kindSel.addEventListener('change', () => (form.querySelector(`label[for="${inputId}"]`).textContent = kindSel.selectedOptions[0].textContent));
  return [h('h3', null, t('journeys.person')), form, note, result];
}

/** A time in the viewer's own time zone, as people read it. */
function when(iso) {
  var d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString(lang() == 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** A step of the plan's forms under its label in the plan ("Votre moto"), else its id. */
function stepName(id) {
  var step = CONFIG.forms.flatMap((f) => f.steps || []).find((st) => st.id == id);
  return (step && step.label) || id;
}

/**
 * The person report's values as people read them: a lever's and a status's words, a step's label in the plan;
 * a visit's detail, which the report writes "3 page(s), mobile", and a cancelled sale's ", cancelled 2026-10-12",
 * in the page's language. A value of another form is shown as sent.
 */
export function personValue(r, k, v) {
  if (typeof v == 'number') return fmt(v, kind(k, v));
  if (k == 'lever') return leverName(v);
  if (k == 'status') return t(`status.${v}`) == `status.${v}` ? String(v) : t(`status.${v}`);
  if (k != 'detail') return String(v);
  if (r.kind == 'step' || r.kind == 'abandon') return stepName(v);
  var visit = r.kind == 'visit' && /^(\d+) page\(s\), (\w*)$/.exec(v);
  if (visit) return [tn('journeys.pages', Number(visit[1])), visit[2] && deviceName(visit[2])].filter(Boolean).join(', ');
  return String(v).replace(/, cancelled (\d{4}-\d{2}-\d{2})$/, (m, day) => `, ${t('journeys.cancelled', { day: shortDay(day, true) })}`);
}

function renderPerson(rows, searchedBy) {
  if (!rows.length) return [h('p', { class: 'note' }, t('journeys.none', { what: t(searchedBy == 'phone' ? 'journeys.phone' : 'journeys.quote').toLowerCase() }))];
  return [h('p', null, tn('journeys.result', rows.length)),
    h('ol', { class: 'timeline' }, rows.map(function (r) {
      var rest = Object.entries(r).filter(([k, v]) => !['ts', 'kind'].includes(k) && v !== '' && v != null);
      return h('li', { class: r.kind == 'sale' ? 'sale' : '' },
        h('time', { datetime: r.ts }, when(r.ts)),
        h('strong', null, t(`journeys.kind.${r.kind}`)), ' ',
        rest.map(([k, v]) => h('span', { class: 'fact', dataset: { key: k, value: String(v) } }, h('span', { class: 'note' }, `${label(k)} `), personValue(r, k, v))));
    }))];
}

function params(s) {
  // The paths to a sale as the attribution credits them: the page's lookback window and point-of-sale switch.
  var { lookback, offline_touch } = state.credit(s);
  return { ...state.common(s), lookback, offline_touch };
}

export var journeys = {
  id: 'journeys',
  keys: ['lookback', 'offline'],
  load: (s, signal) => report('paths', params(s), signal),
  isEmpty: (rows) => !rows.length,
  render(rows, s) {
    var parts = [];
    {
      var data = flows(rows, t('journeys.sale'));
      // One colour per lever, wherever it stands in the path; the sale in grey.
      var levers = [...new Set(rows.flatMap((r) => steps(r.path)))];
      var sale = t('journeys.sale');
      var colourOf = (node) => (node == sale ? SALE : colour(levers.indexOf(node.replace(/^\d+\. /, ''))));
      // A frame of its own that scrolls sideways on a phone: the flow squeezed into 350 px drew its steps' labels over
      // each other ("2. 3. Centre d'appels") and over the flows.
      parts.push(h('div', { class: 'flow-scroll', tabindex: '0', role: 'region', 'aria-label': t('journeys.chart') }, chart(t('journeys.chart'), {
        type: 'sankey',
        data: { datasets: [{ data, colorFrom: (c) => colourOf(c.dataset.data[c.dataIndex].from),
          colorTo: (c) => colourOf(c.dataset.data[c.dataIndex].to), colorMode: 'gradient', borderWidth: 0,
          // The nodes keep the levers' ids as keys; each is shown under its lever's name ("1. Recherche naturelle").
          labels: Object.fromEntries(data.flatMap((f) => [f.from, f.to]).map((k) => [k, k == sale ? k : k.replace(/^(\d+\. )(.*)$/, (m, n, l) => n + leverName(l))])),
          // Each label on its node's colour, in the ink that reads on it (white on the black node, black on the
          // yellow): written on the flows, black text was lost on the black lever's dark flow.
          nodeLabels: { backgroundColor: (node) => colourOf(node.key), color: (node) => inkOn(colourOf(node.key)),
            borderRadius: 3, padding: 3 } }] },
      }, 340)));
      var shown = rows.map((r) => ({ ...r, path: steps(r.path).join(' → ') }));
      var columns = columnsOf(shown).map((c) => (c.key == 'path' ? { ...c, text: (v) => steps(v).map(leverName).join(' → ') } : c));
      parts.push(table({ caption: t('journeys.caption'), columns, rows: shown }));
      parts.push(h('div', { class: 'table-tools' }, csvButton(t('panel.journeys'), (excel) => downloadCsv('paths', params(s), 'paths.csv', excel))));
    }
    return parts;
  },
  footer: personSearch,
};
