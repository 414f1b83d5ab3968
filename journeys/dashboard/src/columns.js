// How a report's columns read on screen: a label in each language and a kind
// (count, rate, money, duration, text) for formatting. A column not listed
// here is shown under its own name, formatted by its values' type: a new
// figure in a report appears in the page without a change here.
import { add, leverName, t } from './i18n.js';

var C = {
  // [kind, English, French]
  lever: ['text', 'Lever', 'Levier'],
  campaign: ['text', 'Campaign', 'Campagne'],
  broker_id: ['text', 'Broker', 'Courtier'],
  broker: ['text', 'Broker', 'Courtier'],
  broker_name: ['text', 'Broker name', 'Nom du courtier'],
  shop: ['text', 'Point of sale', 'Point de vente'],
  device: ['text', 'Device', 'Appareil'],
  model: ['text', 'Model', 'Modèle'],
  day: ['text', 'Day', 'Jour'],
  week: ['text', 'Week', 'Semaine'],
  path: ['text', 'Path', 'Chemin'],
  visits: ['count', 'Visits', 'Visites'],
  sessions: ['count', 'Visits', 'Visites'],
  visitors: ['count', 'Visitors', 'Visiteurs'],
  bounces: ['count', 'Bounces', 'Rebonds'],
  bounce_rate: ['rate', 'Bounce rate', 'Taux de rebond'],
  leads: ['count', 'Leads', 'Leads'],
  conversions: ['count', 'Sales', 'Ventes'],
  sales: ['decimal', 'Sales', 'Ventes'],
  online_conversions: ['count', 'Online sales', 'Ventes en ligne'],
  offline_conversions: ['count', 'Offline sales', 'Ventes hors ligne'],
  online_sales: ['decimal', 'Online sales', 'Ventes en ligne'],
  offline_sales: ['decimal', 'Offline sales', 'Ventes hors ligne'],
  revenue: ['money', 'Revenue', 'Chiffre d’affaires'],
  conversion_rate: ['rate', 'Conversion rate', 'Taux de conversion'],
  lead_rate: ['rate', 'Lead rate', 'Taux de leads'],
  cost: ['money', 'Cost', 'Coût'],
  cost_per_lead: ['money', 'Cost per lead', 'Coût par lead'],
  cost_per_sale: ['money', 'Cost per sale', 'Coût par vente'],
  return_on_spend: ['decimal', 'Return on spend', 'Retour sur dépenses'],
  roas: ['decimal', 'Return on spend', 'Retour sur dépenses'],
  share: ['rate', 'Share', 'Part'],
  matched: ['count', 'Matched', 'Rapprochées'],
  unmatched: ['count', 'Unmatched', 'Non rapprochées'],
  match_rate: ['rate', 'Match rate', 'Taux de rapprochement'],
  reason: ['text', 'Reason', 'Motif'],
  events: ['count', 'Events', 'Événements'],
  replayed: ['count', 'Replayed', 'Rejoués'],
  plan_version: ['text', 'Plan version', 'Version du plan'],
  first_seen: ['time', 'First seen', 'Vu la première fois'],
  last_seen: ['time', 'Last seen', 'Vu la dernière fois'],
  example: ['text', 'Example', 'Exemple'],
  event: ['text', 'Event', 'Événement'],
  count: ['count', 'Count', 'Nombre'],
  persons: ['count', 'Persons', 'Personnes'],
  touches: ['decimal', 'Touches', 'Points de contact'],
  detail: ['text', 'Detail', 'Détail'],
  period: ['text', 'Period', 'Période'],
  name: ['text', 'Name', 'Nom'],
  segment: ['text', 'Segment', 'Segment'],
  average_premium: ['money2', 'Average premium', 'Prime moyenne'],
  sales_signed: ['count', 'Sales signed', 'Ventes signées'],
  revenue_signed: ['money', 'Revenue signed', 'CA signé'],
  attributed_sales: ['decimal', 'Sales attributed', 'Ventes attribuées'],
  attributed_revenue: ['money', 'Revenue attributed', 'CA attribué'],
  days: ['decimal', 'Days to sale', 'Jours avant la vente'],
  premium: ['money2', 'Premium', 'Prime'],
  status: ['text', 'Status', 'Statut'],
  cancelled: ['count', 'Cancelled sales', 'Ventes annulées'],
  cancelled_revenue: ['money', 'Revenue cancelled', 'CA annulé'],
};

add({
  en: Object.fromEntries(Object.entries(C).map(([k, v]) => [`col.${k}`, v[1]])),
  fr: Object.fromEntries(Object.entries(C).map(([k, v]) => [`col.${k}`, v[2]])),
});

export function label(name) {
  if (C[name]) return t(`col.${name}`);
  return name.replace(/_/g, ' ');
}

/** The column's kind, from the list, else from its name, else from a value. */
export function kind(name, sample) {
  if (C[name]) return C[name][0];
  if (/(^|_)rate$/.test(name)) return 'rate';
  if (/_seconds$/.test(name)) return 'duration';
  if (/(revenue|cost|premium|amount)/.test(name)) return 'money';
  if (typeof sample == 'number') return Number.isInteger(sample) ? 'count' : 'decimal';
  return 'text';
}

/** Table columns for these rows: every column of the report except the previous period's. */
export function columnsOf(rows, only) {
  if (!rows.length) return [];
  var names = only || Object.keys(rows[0]).filter((k) => !k.endsWith('_previous'));
  return names.filter((k) => k in rows[0]).map((k) => ({ key: k, label: label(k), kind: kind(k, rows.find((r) => r[k] != null)?.[k]),
    ...(k == 'lever' ? { text: leverName } : {}) }));
}
