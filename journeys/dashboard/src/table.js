// An accessible, sortable table of report rows, with its CSV download.
import { h } from './dom.js';
import { errorText } from './errors.js';
import { fmt, hasCents, visible } from './format.js';
import { lang, t } from './i18n.js';

/**
 * columns: [{key, label, kind, heat?, source?, text?, none?}]; rows: the report's row objects; source names the API
 * field a pivoted cell holds (data-key, which the tests compare with the report's JSON); text(value): a text
 * value as shown (a lever's name), data-value keeping the report's; none: what an empty text value says ("–"
 * unless given).
 * sort: "key" or "-key" (descending), kept in the URL by the caller through onsort.
 */
export function table({ caption, columns, rows, sort, onsort, heat, onpick, pickLabel }) {
  var sorted = sortRows(rows, columns, sort);
  var [desc, key] = sort ? [sort.startsWith('-'), sort.replace(/^-/, '')] : [false, ''];
  var max = heat ? Math.max(0, ...rows.flatMap((r) => columns.filter((c) => c.heat).map((c) => r[c.key] || 0))) : 0;
  columns = withCents(columns, rows);
  var head = columns.map(function (c) {
    var state = c.key == key ? (desc ? 'descending' : 'ascending') : 'none';
    var label = onsort
      ? h('button', { type: 'button', class: 'sort', dataset: { focus: `sort-${c.key}` }, onclick: () => onsort(c.key == key && !desc ? '-' + c.key : c.key) },
        c.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, state == 'ascending' ? '▲' : state == 'descending' ? '▼' : ''))
      : c.label;
    return h('th', { scope: 'col', class: c.kind && c.kind != 'text' && c.kind != 'time' ? 'num' : null, 'aria-sort': onsort ? state : null }, label);
  });
  var body = sorted.map((r) => h('tr', null, columns.map(function (c, i) {
    var numeric = c.kind && c.kind != 'text' && c.kind != 'time';
    var v = r[c.key], text = c.kind && c.kind != 'text' ? fmt(v, c.kind) : (v == null || v === '' ? c.none || '–' : c.text ? c.text(v) : String(v));
    var attrs = { class: numeric ? 'num' : null, dataset: { key: c.source || c.key, value: v == null ? '' : String(v) } };
    if (c.heat && max > 0) {
      var level = Math.min(5, Math.ceil(((v || 0) / max) * 5));
      attrs.class = `num heat heat-${level}`;
    }
    // A row's name is cut short past a width (a broker id of 300 characters made the table 3,900 px wide): the
    // whole of it is the element's text (its accessible name) and title. A short one word name (an id) stays on
    // one line: a call centre's CRC-201 broke after its hyphen, "CRC-" over "201", in a table short of room.
    // A row's name from the data (a campaign: anyone's utm_campaign) shows every character it has: a bidi override
    // drew "\u202egnirps-otom" as "moto-spring", beside the real one, and a zero-width space showed an empty row.
    if (i == 0 && !numeric) text = visible(text);
    var cut = i == 0 && !numeric && text.length <= WORD && !/\s/.test(text) ? 'cut whole' : 'cut';
    if (i == 0 && onpick && v != null && v !== '') {
      return h('th', { scope: 'row', ...attrs }, h('button', { type: 'button', class: 'pick', title: `${text}\n${pickLabel}`, onclick: () => onpick(r) }, h('span', { class: cut }, text)));
    }
    if (i == 0 && !numeric) return h('th', { scope: 'row', ...attrs }, h('span', { class: cut, title: text }, text));
    return i == 0 ? h('th', { scope: 'row', ...attrs }, text) : h('td', attrs, text);
  })));
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', { class: [heat ? 'heatmap' : '', columns.length >= WIDE ? 'wide' : ''].join(' ').trim() || null }, h('caption', null, caption), h('thead', null, h('tr', null, head)), h('tbody', null, body)));
}

/** A table of this many columns or more is set tighter (table.wide): the campaigns' 17 fit 1,200 px in French. */
var WIDE = 12;
/** A row's name of one word up to this long is kept on one line (an id: B042, CRC-201, moto-spring-2026). */
var WORD = 20;

/** The columns, a column of amounts showing cents on every line once one has them (€104 beside €213.85 read as
 * two precisions), and a column of figures with a fraction (sales credited in part) its two decimals on every line
 * (the heat map read "10" under "12,47"). */
export function withCents(columns, rows) {
  var TWO = { money: 'money2', decimal: 'decimal2' };
  return columns.map((c) => (TWO[c.kind] && rows.some((r) => hasCents(r[c.key])) ? { ...c, kind: TWO[c.kind] } : c));
}

/**
 * The rows in the order of `sort` ("key", or "-key" descending). A column shown through `text` (a lever under its
 * name) is in the order of what is shown, in the page's language: sorted by the ids, the French levers read
 * Affiliation, Courtiers, Centre d'appels, Accès direct...
 */
export function sortRows(rows, columns, sort) {
  var [desc, key] = sort ? [sort.startsWith('-'), sort.replace(/^-/, '')] : [false, ''];
  var column = key && columns.find((c) => c.key == key);
  if (!column) return rows;
  var shown = (v) => (column.text && v != null && v !== '' ? column.text(v) : v);
  return [...rows].sort((a, b) => compare(shown(a[key]), shown(b[key])) * (desc ? -1 : 1));
}

function compare(a, b) {
  if (a == null) return b == null ? 0 : -1;
  if (b == null) return 1;
  return typeof a == 'number' && typeof b == 'number' ? a - b : String(a).localeCompare(String(b), lang());
}

/**
 * The CSV buttons of a table: the report as the API renders it, and the same for Excel set to French (`;`, decimal
 * commas, a BOM: the CSV opened there as one column); `download(excel)` fetches one. `text`, `excelText`: their
 * words when "CSV" is not enough (two downloads side by side), then their accessible names as well (a name must
 * hold the words shown).
 */
export function csvButton(name, download, text, excelText) {
  var csv = said(() => download(false)), excel = said(() => download(true));
  var title = t('csv.excel.title');
  if (!text) {
    return [h('button', { type: 'button', class: 'csv', onclick: csv, 'aria-label': t('csv.of', { name }) }, '⤓ CSV'),
      h('button', { type: 'button', class: 'excel', onclick: excel, 'aria-label': t('csv.excel.of', { name }), title },
        `⤓ ${t('csv.excel')}`)];
  }
  return [h('button', { type: 'button', class: 'csv', onclick: csv, title: t('csv.of', { name }) },
    h('span', { 'aria-hidden': 'true' }, '⤓ '), text),
  h('button', { type: 'button', class: 'excel', onclick: excel, title: `${t('csv.excel.of', { name })}. ${title}` },
    h('span', { 'aria-hidden': 'true' }, '⤓ '), excelText)];
}

/**
 * A download that fails says so beside its button (an alert, read out), where it was an uncaught error in the
 * console and nothing on screen; a session that ended has its own banner, and a page that leaves says nothing.
 */
function said(download) {
  return async (event) => {
    var button = event.currentTarget;
    button.parentNode.querySelectorAll('.csv-error').forEach((note) => note.remove());
    try {
      await download(event);
    } catch (e) {
      if (e && (e.name == 'AbortError' || e.status == 401)) return;
      button.after(h('span', { class: 'csv-error', role: 'alert' }, t('csv.failed', { message: errorText(e) })));
    }
  };
}

/**
 * Rows of a report's JSON as CSV, as the API writes its own (a header of the keys, values as sent, null empty,
 * quotes where a value needs them): for a part of a report its CSV does not hold. `excel`: as the API's `excel`
 * format, for Excel set to French (a BOM, `;` between cells, decimal commas).
 */
export function csvText(keys, rows, excel) {
  // A text holding the other list separator (`;` here, `,` for Excel) quoted as well, as the API does: Excel splits a
  // CSV on its locale's separator, and `x;=1+1` left unquoted began a cell with a formula (collector/output.py).
  var sep = excel ? ';' : ',', quote = /[",;\t\n\r]/;
  // Text that a spreadsheet would read as a formula (=, +, -, @...) kept text with a leading quote, as the API does
  // (collector/output.py); text that is a number (-12.5) is none.
  var text = (v) => (typeof v === 'string' && /^[=+\-@\t\r]/.test(v) && !/^[+-]?\d[\d.]*$/.test(v) ? `'${v}` : String(v));
  var shown = (v) => (excel && typeof v == 'number' ? String(v).replace('.', ',') : text(v));
  var quoted = (v) => (typeof v == 'number' ? shown(v).includes(sep) : quote.test(shown(v)));
  var cell = (v) => (v == null ? '' : quoted(v) ? `"${shown(v).replace(/"/g, '""')}"` : shown(v));
  return (excel ? '\ufeff' : '') + [keys, ...rows.map((r) => keys.map((k) => r[k]))].map((line) => line.map(cell).join(sep)).join('\n') + '\n';
}
