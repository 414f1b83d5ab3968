// `node send.mjs LIBRARY HOST WRITE_KEY`: identify, page and track through one of Segment's Node libraries,
// pointed at the collector; exits non-zero when the library reports a failed delivery.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [library, host, writeKey] = process.argv.slice(2);
const sale = {
  contract_id: `CT-NODE-${library.length}`, premium: 320.5, phone: '+33 6 11 22 33 44', quote_id: 'Q-NODE1',
  channel: 'call_centre',
};

if (library === '@segment/analytics-node') {
  const { Analytics } = require('@segment/analytics-node');
  const analytics = new Analytics({ writeKey, host, maxRetries: 1, flushAt: 10 });
  analytics.on('error', (err) => { console.error('delivery failed:', err); process.exitCode = 1; });
  analytics.identify({ userId: 'CRC-1', traits: { phone: '+33 6 11 22 33 44' } });
  analytics.page({ anonymousId: 'v-node', name: 'Devis', properties: { url: 'https://www.motoassur.example/devis' } });
  analytics.track({ userId: 'CRC-1', event: 'Contract Signed', properties: sale });
  await analytics.closeAndFlush();
} else if (library === 'analytics-node') {
  const Analytics = require('analytics-node');
  const analytics = new Analytics(writeKey, { host, flushAt: 10, enable: true });
  analytics.identify({ userId: 'CRC-1', traits: { phone: '+33 6 11 22 33 44' } });
  analytics.page({ anonymousId: 'v-node', name: 'Devis', properties: { url: 'https://www.motoassur.example/devis' } });
  analytics.track({ userId: 'CRC-1', event: 'Contract Signed', properties: sale });
  await new Promise((resolve) => analytics.flush((err) => {
    if (err) { console.error('delivery failed:', err.message); process.exitCode = 1; }
    resolve();
  }));
} else if (library === '@rudderstack/rudder-sdk-node') {
  const Analytics = require('@rudderstack/rudder-sdk-node');
  const analytics = new Analytics(writeKey, { dataPlaneUrl: host, flushAt: 10, logLevel: 'error' });
  analytics.identify({ userId: 'CRC-1', traits: { phone: '+33 6 11 22 33 44' } });
  analytics.page({ anonymousId: 'v-node', name: 'Devis', properties: { url: 'https://www.motoassur.example/devis' } });
  analytics.track({ userId: 'CRC-1', event: 'Contract Signed', properties: sale });
  await new Promise((resolve) => analytics.flush((err) => {
    if (err) { console.error('delivery failed:', err.message); process.exitCode = 1; }
    resolve();
  }));
} else {
  console.error(`unknown library ${library}`);
  process.exit(2);
}
