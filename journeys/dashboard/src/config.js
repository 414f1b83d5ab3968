// What the page knows besides figures, from the collector's plan: the forms
// (for the funnel's form picker) and the properties a funnel may break down by.
var node = document.getElementById('parcours-config');
export var CONFIG = node ? JSON.parse(node.textContent) : { forms: [], breakdowns: [], user: '' };
