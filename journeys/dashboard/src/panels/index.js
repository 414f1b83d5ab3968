// The panels, in the order the page shows them.
import { attribution } from './attribution.js';
import { brokers } from './brokers.js';
import { funnel } from './funnel.js';
import { journeys } from './journeys.js';
import { levers } from './levers.js';
import { overview } from './overview.js';
import { quality } from './quality.js';

export var PANELS = [overview, funnel, levers, attribution, brokers, journeys, quality];
