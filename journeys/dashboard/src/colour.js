// The charts' colours: one colour-blind-safe palette (Okabe & Ito), and the ink that reads on each.

/** Okabe–Ito, ordered so the first colours keep 3:1 contrast on white; yellow last. */
export var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
/** The sale, at the end of every path: a neutral grey. */
export var SALE = '#6b7280';

export function colour(i) {
  return PALETTE[i % PALETTE.length];
}

/** The relative luminance of a #rrggbb colour (WCAG 2). */
function luminance(hex) {
  var [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The contrast ratio of two #rrggbb colours (1 to 21). */
export function contrast(a, b) {
  var [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** White or black, whichever reads better on this background: white on the dark colours, black on the light. */
export function inkOn(background) {
  return contrast('#ffffff', background) >= contrast('#000000', background) ? '#ffffff' : '#000000';
}
