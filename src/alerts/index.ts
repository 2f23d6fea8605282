// The alerts capability: channels from mlops.yaml, sending, and the alerts other commands raise.
export { loadAlertChannels, selectChannels } from './config.js';
export { driftAlert, topDriftedFeatures, type DriftSummary, type DriftedFeature } from './drift.js';
export { alertBody, alertTitle } from './format.js';
export { sendAlert, sendTestAlert, testAlert, type SendOptions } from './send.js';
export * from './types.js';
