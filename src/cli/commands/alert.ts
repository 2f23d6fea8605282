// mlops alert test CHANNEL: send a test alert through one configured channel.
import { ToolFailedError } from '../../errors.js';
import { defineCommand, type CommandDef } from '../command.js';
import { loadChannels, renderAlertEvent } from './alert-support.js';

const configOption = { flags: '--alert-config <file>', description: 'alert channels file (default: mlops.yaml in the registry)' } as const;

export const alertCommand: CommandDef = {
  name: 'alert',
  summary: 'alert channels (webhook, email, Alertmanager)',
  subcommands: [
    defineCommand({
      name: 'test',
      summary: 'send a test alert and report success or the exact failure (exit 4)',
      arguments: [{ name: 'channel', description: 'a channel name from mlops.yaml', required: true }],
      options: [configOption],
      examples: ['mlops alert test ops', 'mlops alert test oncall --alert-config ./alerts.yaml'],
      async run(ctx, { channel: channelName }, options) {
        const { selectChannels } = await import('../../alerts/config.js');
        const { sendTestAlert } = await import('../../alerts/send.js');
        const [channel] = selectChannels(await loadChannels(ctx, options.alertConfig), channelName, 'alert test');
        // The failure itself is the error below; only progress is rendered here.
        const result = await sendTestAlert(channel!, { env: ctx.env, now: ctx.now, onEvent: (e) => e.type !== 'alert.failed' && renderAlertEvent(ctx, e) });
        if (!result.ok) throw new ToolFailedError(result.type, result.message, `check the channel settings in ${options.alertConfig || 'mlops.yaml'} and that the receiver is reachable`);
        if (ctx.ui.json) ctx.ui.printJson(result);
        else ctx.ui.success(`test alert delivered to ${result.channel} (${result.type}) after ${result.tries} ${result.tries === 1 ? 'try' : 'tries'}`);
      },
    }),
  ],
};
