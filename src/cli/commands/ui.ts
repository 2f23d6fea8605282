// mlops ui: a read-only web app over the registry (models, versions, comparisons, drift).
import { numberFlag, type CommandDef } from '../command.js';
import { UsageError } from '../../errors.js';
import { openRegistry } from './registry-support.js';

export const uiCommand: CommandDef = {
  name: 'ui',
  summary: 'a read-only web app over the registry: models, versions, comparisons, drift over time',
  options: [
    { flags: '--port <port>', description: 'port (0 picks a free one) [default: 8090]' },
    { flags: '--host <host>', description: 'address to listen on; beyond loopback needs --auth-token-env [default: 127.0.0.1]' },
    { flags: '--auth-token-env <name>', description: 'environment variable holding the access token (Authorization: Bearer TOKEN, or ?token=TOKEN once)' },
  ],
  examples: ['mlops ui', 'mlops ui --registry s3://models/prod --port 8091', 'UI_TOKEN=s3cret mlops ui --host 0.0.0.0 --auth-token-env UI_TOKEN'],
  async run(ctx, _args, options) {
    const { startUi } = await import('../../ui/server.js');
    const registry = await openRegistry(ctx);
    let token: string | undefined;
    if (options.authTokenEnv !== undefined) {
      const name = String(options.authTokenEnv);
      token = ctx.env[name];
      if (!token) throw new UsageError(`--auth-token-env ${name}: the environment variable ${name} is empty or unset`, `set it first: export ${name}=$(openssl rand -hex 16)`);
    }
    const handle = await startUi({
      registry,
      host: (options.host as string | undefined) ?? '127.0.0.1',
      port: numberFlag(options.port, '--port', { min: 0, max: 65535, integer: true, example: '8090' }) ?? 8090,
      token,
      onEvent: ({ level, message }) => (level === 'info' ? ctx.ui.info(message) : level === 'warn' ? ctx.ui.warn(message) : ctx.ui.err(message)),
    });
    // The one line scripts and tests wait for (with the real port when --port 0); shown even with --quiet.
    if (ctx.ui.json) ctx.ui.err(JSON.stringify({ time: ctx.now().toISOString(), level: 'info', message: `listening on ${handle.url}`, type: 'listening', url: handle.url }));
    else ctx.ui.err(`listening on ${handle.url} (registry ${registry.location})`);
    await ctx.stopRequested;
    await handle.close();
    return 0;
  },
};
