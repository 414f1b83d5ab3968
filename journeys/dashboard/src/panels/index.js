// The panels, in the order the page shows them.
import { funnel } from './funnel.js';

export var PANELS = [funnel];
