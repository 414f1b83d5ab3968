// Chart.js with only the parts the panels use (tree-shaken by esbuild), one
// colour-blind-safe palette (Okabe & Ito), and charts that describe themselves
// to screen readers (role="img", a label; the table beside holds the figures).
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement,
  PointElement, Title, Tooltip,
} from 'chart.js';
import { Flow, SankeyController } from 'chartjs-chart-sankey';
import { h } from './dom.js';
import { lang } from './i18n.js';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement,
  PointElement, Title, Tooltip, SankeyController, Flow);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = '#333';
Chart.defaults.animation = false; // figures should appear, not fly in (and screenshots show them settled)
Chart.defaults.maintainAspectRatio = false;

export { PALETTE, SALE, colour, inkOn } from './colour.js';

var live = new Set();

/** A chart in a labelled canvas; destroy() with the panel's next render. */
export function chart(label, config, height) {
  var canvas = h('canvas', { role: 'img', 'aria-label': label });
  var box = h('div', { class: 'chart' }, canvas);
  box.style.height = `${height || 260}px`; // through CSSOM: the page's CSP refuses style attributes
  var numberFormat = new Intl.NumberFormat(lang() == 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 2 });
  config.options = { locale: lang() == 'fr' ? 'fr-FR' : 'en-GB', ...config.options };
  config.options.plugins = { tooltip: { callbacks: {} }, ...config.options.plugins };
  // The canvas needs its box in the document to size itself: create on the next frame.
  requestAnimationFrame(function () {
    if (!canvas.isConnected) return;
    var c = new Chart(canvas, config);
    live.add(c);
    canvas.chart = c;
  });
  box.numberFormat = numberFormat;
  return box;
}

/** Destroy the charts inside an element about to be replaced. */
export function destroyIn(el) {
  for (var c of [...live]) {
    if (el.contains(c.canvas)) {
      c.destroy();
      live.delete(c);
    }
  }
}
