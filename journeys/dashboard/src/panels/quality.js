// Reconciliation and data quality: how many offline sales were joined to an
// online journey, and why the others were not; the events the plan refused,
// by reason and plan version, with an example of each.
import { downloadCsv, report, saveCsv } from '../api.js';
import { columnsOf } from '../columns.js';
import { h } from '../dom.js';
import { errorWhy } from '../errors.js';
import { fmt } from '../format.js';
import { add, t } from '../i18n.js';
import * as state from '../state.js';
import { csvButton, csvText, table } from '../table.js';

add({
  en: { 'quality.match': 'Sales matched to an online journey', 'quality.reasons': 'Why sales were not matched',
    'quality.rejected': 'Events refused by the tagging plan', 'quality.rejected.caption': 'Refused events by reason and plan version (set aside, not lost: replay them once the plan is fixed)',
    'quality.rejected.none': 'No event was refused in this period.', 'quality.rate': 'Match rate',
    'quality.match.none': 'No sale to match in this period (offline sales come from the partners’ files, once imported).',
    'quality.calls': 'Calls matched to a journey', 'quality.calls.reasons': 'Why calls were not matched',
    'calls.calls': 'Calls', 'calls.by_lease': 'By tracking number', 'calls.by_caller_phone': 'By caller’s phone',
    'calls.by_callee_phone': 'Call-backs', 'calls.unmatched': 'Unmatched',
    ambiguous_lease: 'number held by several visitors', ambiguous_phone: 'phone shared by too many visitors',
    anonymous_caller: 'number withheld', callee_not_seen: 'call-back to a phone never seen online',
    phone_not_seen: 'caller’s phone never seen online',
    'quality.calls.unfiltered': 'All the period’s calls: the filters do not apply to calls.',
    'quality.rejected.unfiltered': 'All the period’s refused events: the filters do not apply to them (a refused event has no lever, campaign, broker or device).' },
  fr: { 'quality.match': 'Ventes rapprochées d’un parcours en ligne', 'quality.reasons': 'Pourquoi des ventes n’ont pas été rapprochées',
    'quality.rejected': 'Événements refusés par le plan de marquage', 'quality.rejected.caption': 'Événements refusés par motif et version du plan (mis de côté, pas perdus : rejouez-les une fois le plan corrigé)',
    'quality.rejected.none': 'Aucun événement refusé sur la période.', 'quality.rate': 'Taux de rapprochement',
    'quality.match.none': 'Aucune vente à rapprocher sur la période (les ventes hors ligne viennent des fichiers des partenaires, une fois importés).',
    // The match report's reasons (journeys/reports/match.py REASONS), shown in French; the CSV keeps the API's words.
    'no phone in the file': 'pas de téléphone dans le fichier', 'phone never seen online': 'téléphone jamais vu en ligne',
    'key ambiguous': 'clé ambiguë', 'journey outside the lookback': 'parcours hors de la fenêtre d’attribution',
    'journey only after the sale': 'parcours seulement après la vente',
    'no visit counted': 'aucune visite comptée (robots seulement, ou clé reçue par l’API)',
    'quality.calls': 'Appels rapprochés d’un parcours', 'quality.calls.reasons': 'Pourquoi des appels n’ont pas été rapprochés',
    'calls.calls': 'Appels', 'calls.by_lease': 'Par numéro de suivi', 'calls.by_caller_phone': 'Par téléphone de l’appelant',
    'calls.by_callee_phone': 'Rappels', 'calls.unmatched': 'Non rapprochés',
    ambiguous_lease: 'numéro tenu par plusieurs visiteurs', ambiguous_phone: 'téléphone partagé par trop de visiteurs',
    anonymous_caller: 'numéro masqué', callee_not_seen: 'rappel d’un téléphone jamais vu en ligne',
    phone_not_seen: 'téléphone de l’appelant jamais vu en ligne',
    'quality.calls.unfiltered': 'Tous les appels de la période : les filtres ne s’appliquent pas aux appels.',
    'quality.rejected.unfiltered': 'Tous les événements refusés de la période : les filtres ne s’y appliquent pas (un événement refusé n’a ni levier, ni campagne, ni courtier, ni appareil).' },
});

/** The unmatched reasons as rows, whether the API gives an object {reason: n} or a list of rows. */
export function reasons(byReason) {
  if (Array.isArray(byReason)) return byReason;
  return Object.entries(byReason || {}).map(([reason, count]) => ({ reason: t(reason), count }));
}

function matchParams(s) {
  // A sale matches a journey within the page's lookback window (the Attribution panel's).
  return { ...state.common(s), lookback: s.lookback };
}

export var quality = {
  id: 'quality',
  keys: ['lookback'],
  // The two halves are independent: one failing leaves the other shown, with the failure said in its place.
  async load(s, signal) {
    var [match, rejected] = await Promise.allSettled([report('match', matchParams(s), signal), report('rejected', state.common(s), signal)]);
    if (match.status == 'rejected' && rejected.status == 'rejected') throw match.reason;
    return { match: match.value, matchError: match.reason, rejected: rejected.value, rejectedError: rejected.reason };
  },
  render(d, s) {
    var failed = (err) => h('div', { class: 'state error', role: 'alert' }, h('p', null, t('error.part')), errorWhy(err));
    var parts = [h('h3', null, t('quality.match'))];
    if (d.matchError) parts.push(failed(d.matchError));
    else parts.push(...matchPart(d.match, s));
    parts.push(h('h3', null, t('quality.rejected')));
    // The reports count the calls and the refused events of the period whatever the filters: said under a filter,
    // where 247 calls beside a broker's 291 sales (or beside the other panels' "no data") read as that broker's.
    if (filtered(s)) parts.push(h('p', { class: 'note unfiltered' }, t('quality.rejected.unfiltered')));
    if (d.rejectedError) parts.push(failed(d.rejectedError));
    else if (!d.rejected.length) parts.push(h('p', { class: 'note' }, t('quality.rejected.none')));
    else {
      parts.push(table({ caption: t('quality.rejected.caption'), columns: columnsOf(d.rejected), rows: d.rejected }));
      parts.push(h('div', { class: 'table-tools' }, csvButton(t('quality.rejected'), (excel) => downloadCsv('rejected', state.common(s), 'rejected.csv', excel))));
    }
    return parts;
  },
};

/**
 * Sales matched to a journey: the counts (the period's cancelled sales apart, when it has some), the match rate
 * when the report gives it, the reasons for the rest.
 */
function matchPart(m, s) {
  m = m || {};
  // A period without sales says so, as the other panels' empty states do (it showed six reasons at 0, a CSV of
  // them and a match rate of "–").
  if (!m.conversions && !m.cancelled) return [h('p', { class: 'note' }, t('quality.match.none'))].concat(callsPart(m.calls, filtered(s)));
  var counts = ['conversions', 'matched', 'unmatched'].concat(m.cancelled ? ['cancelled'] : []);
  var parts = [
      h('div', { class: 'tiles' }, counts.map((k) => h('div', { class: 'tile' },
        h('span', { class: 'label' }, t(`col.${k}`)), h('span', { class: 'value', dataset: { key: k, value: String(m[k] ?? '') } }, fmt(m[k], 'count')))),
      'match_rate' in m && h('div', { class: 'tile' }, h('span', { class: 'label' }, t('quality.rate')),
        h('span', { class: 'value', dataset: { key: 'match_rate', value: String(m.match_rate ?? '') } }, fmt(m.match_rate, 'rate'))))];
  var why = reasons(m.by_reason);
  if (why.length) {
    parts.push(table({ caption: t('quality.reasons'), columns: columnsOf(why), rows: why }));
    parts.push(h('div', { class: 'table-tools' }, csvButton(t('quality.reasons'), (excel) => downloadCsv('match', matchParams(s), 'match.csv', excel))));
  }
  return parts.concat(callsPart(m.calls, filtered(s)));
}

/** Whether the page is filtered (a lever, campaign, broker or device). */
function filtered(s) {
  return state.supportedFilters().some((f) => s[f]);
}

/**
 * The calls' unmatched reasons as CSV: the match report's CSV holds the sales' lines only, so these are the
 * JSON's `calls.by_reason`, every reason with its count as the API sent it, under the API's words.
 */
export function callReasonsCsv(c, excel) {
  return csvText(['reason', 'count'], Object.entries(c.by_reason || {}).map(([reason, count]) => ({ reason, count })), excel);
}

/**
 * Calls matched to a journey (the match report's `calls`): shown once the period has imported calls; `filtered`:
 * the page is filtered, which the calls are not (said).
 */
export function callsPart(c, filtered) {
  if (!c || !c.calls) return [];
  var why = reasons(c.by_reason).filter((r) => r.count);
  return [h('h3', null, t('quality.calls')),
    filtered && h('p', { class: 'note unfiltered' }, t('quality.calls.unfiltered')),
    h('div', { class: 'tiles' }, ['calls', 'by_lease', 'by_caller_phone', 'by_callee_phone', 'unmatched'].map((k) => h('div', { class: 'tile' },
      h('span', { class: 'label' }, t(`calls.${k}`)), h('span', { class: 'value', dataset: { key: k, value: String(c[k] ?? '') } }, fmt(c[k], 'count'))))),
    why.length && table({ caption: t('quality.calls.reasons'), columns: columnsOf(why), rows: why }),
    why.length && h('div', { class: 'table-tools' }, csvButton(t('quality.calls.reasons'),
      (excel) => saveCsv(callReasonsCsv(c, excel), 'match-calls.csv', excel)))].filter(Boolean);
}

