// The login page's only script. A link to a panel (/dashboard#attribution, shared from the address bar) keeps its
// panel through the login: the fragment never reaches the server, so the `next` the page was given has none; the
// browser keeps it on the login page's address (a redirect without a fragment keeps the request's), and this
// carries it into the form's `next` and the language switch. Only a panel's id is carried, and only into the path
// the server gave (a dashboard path, checked again when the form comes back: collector/auth.py safe_next).

/** A panel's id as a fragment: letters, digits, - and _ (the panels' ids), nothing that reads as markup or a URL. */
export var PANEL = /^#[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** `next` (the dashboard path the server gave) with the fragment `hash` instead of its own, when it is a panel's. */
export function withPanel(next, hash) {
  return PANEL.test(hash) ? next.replace(/#.*$/s, '') + hash : next;
}

if (typeof document != 'undefined') {
  var field = document.querySelector('form input[name="next"]');
  if (field) field.value = withPanel(field.value, location.hash);
  var other = document.querySelector('.switch a');
  if (other && PANEL.test(location.hash)) other.hash = location.hash;
}
