// The media × point-of-sale rows (one per broker and lever) as a grid: pure data, tested under node.

/** The row key of the broker's own column: a lever is a plan name (a lever called `broker` is common), never this. */
export var BROKER_KEY = '#broker';

/** The media_pos rows (one per broker and lever) laid out as a broker × lever grid; no figure is computed. */
export function heatRows(rows) {
  var levers = [...new Set(rows.map((r) => r.lever))].sort();
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
