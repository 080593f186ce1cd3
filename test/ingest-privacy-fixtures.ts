/** The plan and key the privacy ingest tests share (test/ingest-privacy*.test.ts). */
import { parsePlan } from '../src/schema/tracking-plan.js';

export const PRIVACY_PLAN = parsePlan({
  events: {
    $consent: { properties: { purpose: 'string', granted: 'boolean', source: 'string' } },
    page_view: {
      properties: {
        path: 'string',
        ip: 'string',
        client_ip: { type: 'string', ip: true },
        email: { type: 'string', pii: true },
        age: { type: 'number', pii: true },
      },
    },
  },
  traits: { email: { type: 'string', pii: true }, ip_address: 'string', plan: 'string', consent_analytics: 'boolean', consent_marketing: 'boolean' },
});

export const KEY = 'k'.repeat(16) + '0123456789abcdef0123456789abcdef';

