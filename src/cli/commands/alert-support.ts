// Alert channels for commands that send alerts: from --alert-config FILE or the
// registry's mlops.yaml, and the rendering of delivery events.
import { resolve } from 'node:path';
import { CONFIG_FILE, loadYamlSource } from '../../config.js';
import { join } from 'node:path';
import type { AlertChannel, AlertEvent, ChannelResult } from '../../alerts/types.js';
import type { Ctx } from '../context.js';

export async function loadChannels(ctx: Ctx, configFile?: string): Promise<AlertChannel[]> {
  const { loadAlertChannels } = await import('../../alerts/config.js');
  // --alert-config FILE must exist (exit 3 naming it); the registry's mlops.yaml is optional.
  const source = configFile
    ? await loadYamlSource(resolve(ctx.cwd, configFile), { kind: 'alert config', flag: '--alert-config' })
    : await loadYamlSource(join(ctx.registryDir, CONFIG_FILE), { optional: true, kind: 'config' });
  return source ? loadAlertChannels(source.value, ctx.env, source) : [];
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
