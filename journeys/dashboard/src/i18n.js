// French and English: the users are French insurers and banks. The language
// comes from the URL (?lang=), else the browser's preferences; a switch in the
// header changes it. Every string the page shows is here, by key.

var STRINGS = {
  en: {
    title: 'parcours dashboard',
    skip: 'Skip to the panels',
    period: 'Period',
    'period.7d': 'Last 7 days',
    'period.30d': 'Last 30 days',
    'period.90d': 'Last 90 days',
    'period.month': 'This month',
    'period.lastmonth': 'Last month',
    'period.custom': 'Custom dates',
    from: 'From',
    to: 'To (included)',
    apply: 'Apply',
    'dates.order': 'The first day must be on or before the last day: nothing was applied.',
    'dates.missing': 'Enter both days (a full date in each field): nothing was applied.',
    'dates.range': 'The days must be between 1 January 1970 and 31 December 2099: nothing was applied.',
    filters: 'Filters',
    'filter.lever': 'Lever',
    'filter.campaign': 'Campaign',
    'filter.broker': 'Broker',
    'filter.device': 'Device',
    'filter.any': 'All',
    'filter.clear': 'Clear filters',
    language: 'Language',
    logout: 'Log out',
    loading: 'Loading…',
    empty: 'No data for this period and these filters.',
    'empty.hint': 'Widen the period or clear the filters.',
    'empty.period': 'No data for this period.',
    'empty.period.hint': 'Pick a longer or earlier period.',
    error: 'This panel could not be loaded.',
    'error.part': 'This part could not be loaded.',
    'error.network': 'The collector could not be reached (network or server down).',
    retry: 'Try again',
    asof: 'Figures as of {time}: data came in since.',
    'asof.refresh': 'Refresh',
    'asof.updating': 'Updating…',
    csv: 'Download CSV',
    'csv.of': 'Download {name} as CSV',
    'csv.excel': 'CSV for Excel (French)',
    'csv.excel.of': 'Download {name} as CSV for Excel (French)',
    'csv.excel.title': 'For Excel set to French: semicolons between columns, decimal commas, UTF-8 with a BOM',
    'csv.failed': 'The CSV could not be downloaded: {message}',
    'chart.table': 'The same figures as a table',
    vs: 'vs previous period',
    'vs.none': 'no earlier data',
    'nav.label': 'Panels',
    'panel.overview': 'Overview',
    'panel.funnel': 'Funnel',
    'panel.levers': 'Levers and campaigns',
    'panel.attribution': 'Attribution',
    'panel.brokers': 'Brokers and points of sale',
    'panel.journeys': 'Journeys',
    'panel.quality': 'Reconciliation and data quality',
    'session.expired': 'Your session has ended.',
    'access.denied': 'Your account may not read this report.',
    'login.again': 'Log in again',
    'filter.remove': 'Remove this filter',
    'filter.chip': '{filter}: {value}',
    'device.desktop': 'Desktop',
    'device.mobile': 'Mobile',
    'device.tablet': 'Tablet',
    'device.other': 'Other device',
    // The levers of the example plan (examples/moto-insurance.yaml) and the channels an offline sale's point of
    // sale stands for when no broker's lever does: the plan gives them no label. Another lever shows its id.
    'lever.broker': 'Brokers', 'lever.affiliation': 'Affiliation', 'lever.display': 'Display ads',
    'lever.search_paid': 'Paid search', 'lever.search_organic': 'Organic search', 'lever.social': 'Social media',
    'lever.email': 'Email', 'lever.referral': 'Referring sites', 'lever.direct': 'Direct',
    'lever.shop': 'Shop', 'lever.call_centre': 'Call centre', 'lever.web': 'Website',
  },
  fr: {
    title: 'Tableau de bord parcours',
    skip: 'Aller aux panneaux',
    period: 'Période',
    'period.7d': '7 derniers jours',
    'period.30d': '30 derniers jours',
    'period.90d': '90 derniers jours',
    'period.month': 'Ce mois-ci',
    'period.lastmonth': 'Le mois dernier',
    'period.custom': 'Dates choisies',
    from: 'Du',
    to: 'Au (inclus)',
    apply: 'Appliquer',
    'dates.order': 'Le premier jour doit précéder le dernier (ou être le même) : rien n’a été appliqué.',
    'dates.missing': 'Indiquez les deux jours (une date complète dans chaque champ) : rien n’a été appliqué.',
    'dates.range': 'Les jours doivent être entre le 1er janvier 1970 et le 31 décembre 2099 : rien n’a été appliqué.',
    filters: 'Filtres',
    'filter.lever': 'Levier',
    'filter.campaign': 'Campagne',
    'filter.broker': 'Courtier',
    'filter.device': 'Appareil',
    'filter.any': 'Tous',
    'filter.clear': 'Effacer les filtres',
    language: 'Langue',
    logout: 'Se déconnecter',
    loading: 'Chargement…',
    empty: 'Aucune donnée pour cette période et ces filtres.',
    'empty.hint': 'Élargissez la période ou effacez les filtres.',
    'empty.period': 'Aucune donnée pour cette période.',
    'empty.period.hint': 'Choisissez une période plus longue ou plus ancienne.',
    error: 'Ce panneau n’a pas pu être chargé.',
    'error.part': 'Cette partie n’a pas pu être chargée.',
    'error.network': 'Le collecteur est injoignable (réseau ou serveur arrêté).',
    retry: 'Réessayer',
    asof: 'Chiffres du {time} : des données sont arrivées depuis.',
    'asof.refresh': 'Actualiser',
    'asof.updating': 'Mise à jour…',
    csv: 'Télécharger en CSV',
    'csv.of': 'Télécharger {name} en CSV',
    'csv.excel': 'CSV pour Excel',
    'csv.excel.of': 'Télécharger {name} en CSV pour Excel',
    'csv.excel.title': 'Pour Excel en français : points-virgules entre les colonnes, virgule décimale, UTF-8 avec BOM',
    'csv.failed': 'Le CSV n’a pas pu être téléchargé : {message}',
    'chart.table': 'Les mêmes chiffres en tableau',
    vs: 'vs période précédente',
    'vs.none': 'pas de données avant',
    'nav.label': 'Panneaux',
    'panel.overview': 'Vue d’ensemble',
    'panel.funnel': 'Entonnoir',
    'panel.levers': 'Leviers et campagnes',
    'panel.attribution': 'Attribution',
    'panel.brokers': 'Courtiers et points de vente',
    'panel.journeys': 'Parcours',
    'panel.quality': 'Rapprochement et qualité des données',
    'session.expired': 'Votre session a pris fin.',
    'access.denied': 'Votre compte ne peut pas lire ce rapport.',
    'login.again': 'Se reconnecter',
    'filter.remove': 'Retirer ce filtre',
    'filter.chip': '{filter} : {value}',
    'device.desktop': 'Ordinateur',
    'device.mobile': 'Mobile',
    'device.tablet': 'Tablette',
    'device.other': 'Autre appareil',
    'lever.broker': 'Courtiers', 'lever.affiliation': 'Affiliation', 'lever.display': 'Publicité display',
    'lever.search_paid': 'Recherche payante', 'lever.search_organic': 'Recherche naturelle', 'lever.social': 'Réseaux sociaux',
    'lever.email': 'E-mail', 'lever.referral': 'Sites référents', 'lever.direct': 'Accès direct',
    'lever.shop': 'Point de vente', 'lever.call_centre': 'Centre d’appels', 'lever.web': 'Site web',
  },
};

export var LANGS = ['fr', 'en'];
var current = 'en';

/** The language to use: the URL's, else the first of the browser's we speak, else French. */
export function pickLang(fromUrl, browser) {
  if (LANGS.includes(fromUrl)) return fromUrl;
  for (var tag of browser || []) {
    var base = String(tag).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'fr';
}

export function setLang(lang) {
  current = LANGS.includes(lang) ? lang : 'fr';
  document.documentElement.lang = current;
}

export function lang() {
  return current;
}

/** Every string of a language, by key (for the tests: each key in both languages). */
export function strings(l) {
  return { ...STRINGS[l] };
}

/** Strings added by the panels (each panel keeps its own words beside its code). */
export function add(strings) {
  for (var l of LANGS) Object.assign(STRINGS[l], strings[l] || {});
}

/** The string for a key in the current language, with {name} placeholders filled. */
export function t(key, values) {
  var text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return values ? text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m)) : text;
}

/**
 * A lever as people read it: its word in the page's language for the example plan's levers (search_organic:
 * "Recherche naturelle"), else its id as the plan writes it. For display only: the URL, the API and the CSV keep
 * the id.
 */
export function leverName(id) {
  return id != null && `lever.${id}` in STRINGS[current] ? STRINGS[current][`lever.${id}`] : String(id ?? '');
}

/**
 * A device type as people read it (desktop: "Ordinateur"), else as the report writes it. For display only: the
 * URL, the API and the CSV keep the id.
 */
export function deviceName(id) {
  return id != null && `device.${id}` in STRINGS[current] ? STRINGS[current][`device.${id}`] : String(id ?? '');
}

var rules = {};

/**
 * The string for a count `n` ({n} filled): `key.one` where the language says one (English 1; French 0 and 1),
 * else `key` (the other forms).
 */
export function tn(key, n, values) {
  var rule = (rules[current] ??= new Intl.PluralRules(current)).select(n);
  return t(rule == 'one' && `${key}.one` in STRINGS[current] ? `${key}.one` : key, { n, ...values });
}
