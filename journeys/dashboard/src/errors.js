// A refusal of the reports API said in the page's language. The API answers `{"error": message, "code": code,
// "values": {…}}` (collector/errors.py): the page words the code, filled with the values, and keeps the API's
// English message under "Technical detail" for the web team; a code it does not know shows the message as sent.
import { h } from './dom.js';
import { fmt, shortDay } from './format.js';
import { add, t } from './i18n.js';

add({
  en: {
    'error.detail': 'Technical detail',
    'option.from': 'Start of the period', 'option.to': 'End of the period', 'option.model': 'Attribution model',
    'option.lookback': 'Lookback window', 'option.offline_touch': 'Point of sale as last touch', 'option.form': 'Form',
    'option.by': 'Breakdown', 'option.lever': 'Lever', 'option.campaign': 'Campaign', 'option.broker': 'Broker',
    'option.device': 'Device', 'option.format': 'Format', 'option.interval': 'Interval', 'option.compare': 'Comparison',
    'api.option_unknown': 'The {report} report has no option “{option}”.',
    'api.option_not_taken': 'The {report} report does not take the option “{option}”.',
    'api.option_repeated': '“{option}” is given more than once.',
    'api.option_not_one_value': '“{option}”: one value is expected.',
    'api.options_not_object': 'The server could not read the request’s options.',
    'api.body_too_large': 'The request is larger than {limit} bytes.',
    'api.period_order': 'The start of the period ({from}) must be before its end ({to}).',
    'api.period_too_late': 'The period must end on {latest} at the latest.',
    'api.compare_too_early': 'The previous period, as long as this one, would begin before {earliest}: choose a shorter period.',
    'api.compare_not_taken': 'The {report} report does not compare periods.',
    'api.time_invalid': '{option}: “{value}” is not a date.',
    'api.time_out_of_range': '{option}: “{value}” is out of range (from {earliest} to {latest}).',
    'api.value_too_long': '{option}: longer than {limit} characters.',
    'api.limit_invalid': '“{value}” is not a whole number from 1 to 10,000.',
    'api.choice_unknown': '{option}: “{value}” is not known (one of: {allowed}).',
    'api.flag_invalid': '{option}: “{value}” is neither true nor false.',
    'api.duration_invalid': '{option}: “{value}” is not a duration from 1 minute to 400 days.',
    'api.model_one': 'The {report} report credits sales under one attribution model at a time.',
    'api.no_form': 'The tagging plan declares no form: the funnel follows a form’s steps.',
    'api.form_unknown': 'The tagging plan has no form “{form}” (forms: {forms}). The plan may have changed: reload the page.',
    'api.funnel_too_long': 'The funnel follows a form of at most {limit} steps.',
    'api.funnel_too_many_required': 'The funnel follows at most {limit} required steps.',
    'api.breakdown_unknown': 'The breakdown “{by}” is not known. The plan may have changed: reload the page.',
    'api.breakdown_personal': 'The property “{by}” holds personal data: it cannot be a breakdown.',
    'api.phone_invalid': 'This is not a valid phone number (e.g. 06 12 34 56 78 or +33 6 12 34 56 78).',
    'api.person_key_missing': 'Enter a quote id or a phone number.',
    'api.phone_in_url': 'A phone number never goes in an address: use the search box of the Journeys panel.',
    'api.report_unknown': 'This collector has no report “{report}”: it may run an older version.',
    'api.store_unavailable': 'The figures could not be computed: the database (ClickHouse) is out of reach or overloaded. Try again in a moment.',
    'api.query_refused': 'The database refused to compute this report.',
    'api.too_deep_request': 'The server could not read the request.',
    'api.http_status': 'The server answered {status} without saying why (a proxy in between, or a time limit?). Try again in a moment.',
  },
  fr: {
    'error.detail': 'Détail technique',
    'option.from': 'Début de la période', 'option.to': 'Fin de la période', 'option.model': 'Modèle d’attribution',
    'option.lookback': 'Fenêtre d’attribution', 'option.offline_touch': 'Point de vente en dernier contact', 'option.form': 'Formulaire',
    'option.by': 'Ventilation', 'option.lever': 'Levier', 'option.campaign': 'Campagne', 'option.broker': 'Courtier',
    'option.device': 'Appareil', 'option.format': 'Format', 'option.interval': 'Intervalle', 'option.compare': 'Comparaison',
    'api.option_unknown': 'Le rapport {report} n’a pas d’option « {option} ».',
    'api.option_not_taken': 'Le rapport {report} ne prend pas l’option « {option} ».',
    'api.option_repeated': '« {option} » est donné plusieurs fois.',
    'api.option_not_one_value': '« {option} » : une seule valeur est attendue.',
    'api.options_not_object': 'Le serveur n’a pas pu lire les options de la demande.',
    'api.body_too_large': 'La demande dépasse {limit} octets.',
    'api.period_order': 'Le début de la période ({from}) doit précéder sa fin ({to}).',
    'api.period_too_late': 'La période doit finir le {latest} au plus tard.',
    'api.compare_too_early': 'La période précédente, de même longueur, commencerait avant le {earliest} : choisissez une période plus courte.',
    'api.compare_not_taken': 'Le rapport {report} ne compare pas de périodes.',
    'api.time_invalid': '{option} : « {value} » n’est pas une date.',
    'api.time_out_of_range': '{option} : « {value} » est hors des dates possibles (du {earliest} au {latest}).',
    'api.value_too_long': '{option} : plus de {limit} caractères.',
    'api.limit_invalid': '« {value} » n’est pas un nombre entier de 1 à 10 000.',
    'api.choice_unknown': '{option} : « {value} » n’est pas une valeur connue (valeurs possibles : {allowed}).',
    'api.flag_invalid': '{option} : « {value} » n’est ni vrai ni faux.',
    'api.duration_invalid': '{option} : « {value} » n’est pas une durée de 1 minute à 400 jours.',
    'api.model_one': 'Le rapport {report} attribue les ventes selon un seul modèle d’attribution à la fois.',
    'api.no_form': 'Le plan de marquage ne déclare aucun formulaire : l’entonnoir suit les étapes d’un formulaire.',
    'api.form_unknown': 'Le plan de marquage n’a pas de formulaire « {form} » (formulaires : {forms}). Le plan a peut-être changé : rechargez la page.',
    'api.funnel_too_long': 'L’entonnoir suit un formulaire de {limit} étapes au plus.',
    'api.funnel_too_many_required': 'L’entonnoir suit {limit} étapes obligatoires au plus.',
    'api.breakdown_unknown': 'La ventilation « {by} » n’est pas connue. Le plan a peut-être changé : rechargez la page.',
    'api.breakdown_personal': 'La propriété « {by} » contient des données personnelles : elle ne peut pas servir de ventilation.',
    'api.phone_invalid': 'Ce numéro de téléphone n’est pas valide (par ex. 06 12 34 56 78 ou +33 6 12 34 56 78).',
    'api.person_key_missing': 'Indiquez un numéro de devis ou un numéro de téléphone.',
    'api.phone_in_url': 'Un numéro de téléphone ne va jamais dans une adresse : utilisez la recherche du panneau Parcours.',
    'api.report_unknown': 'Ce collecteur n’a pas de rapport « {report} » : il est peut-être d’une version plus ancienne.',
    'api.store_unavailable': 'Les chiffres n’ont pas pu être calculés : la base de données (ClickHouse) est injoignable ou surchargée. Réessayez dans un moment.',
    'api.query_refused': 'La base de données a refusé de calculer ce rapport.',
    'api.too_deep_request': 'Le serveur n’a pas pu lire la demande.',
    'api.http_status': 'Le serveur a répondu {status} sans dire pourquoi (un proxy entre les deux, un délai dépassé ?). Réessayez dans un moment.',
  },
});

var INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** The page's words for a key, or null when it has none (t() answers the key itself). */
function word(key) {
  var text = t(key);
  return text == key ? null : text;
}

/** A value of a refusal as the page says it: an option under its words, an instant as a date, a list joined. */
function shown(key, value) {
  if (Array.isArray(value)) return value.map((v) => shown('', v)).join(', ');
  if (key == 'option') return word(`option.${value}`) || String(value);
  if (typeof value == 'number') return fmt(value, 'count');
  if (typeof value == 'string' && INSTANT.test(value)) {
    return value.slice(11, 19) == '00:00:00' ? shortDay(value, true) : fmt(value, 'time');
  }
  return String(value ?? '');
}

/**
 * What went wrong, in the page's language: the session's end and a refused account by their status, the network
 * down in the page's words (the browser's are English), a refusal the page knows by its code in its words; else
 * the API's message as sent.
 */
export function errorText(err) {
  var status = err && err.status;
  if (status == 401) return t('session.expired');
  if (status == 403) return t('access.denied');
  if (err instanceof TypeError) return t('error.network');
  var code = err && err.code;
  if (code && word(`api.${code}`)) {
    return t(`api.${code}`, Object.fromEntries(Object.entries(err.values || {}).map(([k, v]) => [k, shown(k, v)])));
  }
  return (err && err.message) || '';
}

/**
 * The paragraphs saying why, for an error state: the reason in the page's language, and the API's own message,
 * when the page said it otherwise, under "Technical detail" (in English, as the API wrote it).
 */
export function errorWhy(err) {
  var text = errorText(err), message = err && err.message;
  return [text && h('p', { class: 'why' }, text),
    message && err.code && message != text
      ? h('details', { class: 'why-detail' }, h('summary', null, t('error.detail')), h('p', { lang: 'en' }, message)) : null];
}
