// Alert channels for commands that send alerts: from --alert-config FILE or the
// registry's mlops.yaml, and the rendering of delivery events.
import { resolve } from 'node:path';
import { loadRegistryConfig, loadYamlConfig } from '../../config.js';
import type { AlertChannel, AlertEvent, ChannelResult } from '../../alerts/types.js';
import type { Ctx } from '../context.js';

export async function loadChannels(ctx: Ctx, configFile?: string): Promise<AlertChannel[]> {
  const { loadAlertChannels } = await import('../../alerts/config.js');
  const config = configFile ? await loadYamlConfig(resolve(ctx.cwd, configFile)) : await loadRegistryConfig(ctx.registryDir);
  return loadAlertChannels(config, ctx.env);
}

export function renderAlertEvent(ctx: Ctx, event: AlertEvent): void {
  if (event.type === 'alert.retry') ctx.ui.info(`  ${event.channel}: try ${event.attempt} failed (${event.reason}); retrying in ${event.delayMs} ms`);
  else if (event.type === 'alert.failed') ctx.ui.warn(`alert ${event.channel}: ${event.message}`);
  else if (event.type === 'alert.sent') ctx.ui.info(`  alert sent to ${event.channel} (${event.channelType})`);
}

/** Failed deliveries go to stderr; they never change a check's exit code. */
export function reportDeliveries(ctx: Ctx, results: readonly ChannelResult[]): void {
  for (const result of results) {
    if (result.ok) ctx.ui.success(`alert delivered to ${result.channel}`);
    else ctx.ui.warn(`alert to ${result.channel} failed: ${result.message}`);
  }
}
