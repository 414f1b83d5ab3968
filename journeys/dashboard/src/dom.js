// Elements built from data with textContent only: no HTML is ever parsed from
// a report's values (a campaign name is data, not markup).

export function h(tag, attrs, ...children) {
  var el = document.createElement(tag);
  for (var [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k == 'class') el.className = v;
    else if (k == 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (var c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

var ids = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix) {
  return `${prefix}-${++ids}`;
}

/** A labelled <select>: [label element, select element]. */
export function select(label, value, options, onchange) {
  var id = uid('sel');
  var sel = h('select', { id, onchange: (e) => onchange(e.target.value) },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  return h('span', { class: 'control' }, h('label', { for: id }, label), sel);
}

/** A group of buttons, one pressed: [label, buttons]. */
export function toggle(name, label, value, options, onpick) {
  return h('span', { class: 'control' }, h('span', { class: 'toggle-label', id: `${name}-label` }, label),
    h('span', { class: 'toggle', role: 'group', 'aria-labelledby': `${name}-label` }, options.map(([v, text]) =>
      h('button', { type: 'button', 'aria-pressed': String(v == value), onclick: () => onpick(v) }, text))));
}
