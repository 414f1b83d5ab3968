// The media × point-of-sale rows (one per broker and lever) as a grid: pure data, tested under node.

/** The row key of the broker's own column: a lever is a plan name (a lever called `broker` is common), never this. */
export var BROKER_KEY = '#broker';

/** The media_pos rows (one per broker and lever) laid out as a broker × lever grid; no figure is computed. The
 * columns: the sales with no online touch ('') first, then the levers in the order of the names the page shows
 * (`nameOf`, in its language: "Accès direct, Affiliation, Courtiers…", not the ids' "affiliation, broker, direct…"). */
export function heatRows(rows, nameOf = (id) => id, locale = undefined) {
  var order = (a, b) => (a == '') != (b == '') ? (a == '' ? -1 : 1)
    : nameOf(a).localeCompare(nameOf(b), locale, { sensitivity: 'base' }) || (a < b ? -1 : a > b ? 1 : 0);
  var levers = [...new Set(rows.map((r) => r.lever))].sort(order);
  var brokers = [...new Set(rows.map((r) => r.broker_id))];
  return { levers, rows: brokers.map(function (b) {
    var out = { [BROKER_KEY]: b };
    for (var l of levers) {
      var cell = rows.find((r) => r.broker_id == b && r.lever == l);
      out[l] = cell ? cell.conversions : null;
    }
    return out;
  }) };
}
