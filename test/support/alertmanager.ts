// Starts a real Prometheus Alertmanager (Debian's prometheus-alertmanager) on a free
// loopback port, clustering off, with a temp config whose default receiver can forward
// to a webhook so a test can see routing and grouping happen.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryExists, missingBinaryError, startPeer } from './prometheus.js';

export const ALERTMANAGER_BIN = process.env.MLOPS_TEST_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}

export interface AlertmanagerHandle {
  url: string;
  /** GET /api/v2/alerts (active, silenced and inhibited alike). */
  alerts(): Promise<AlertmanagerAlert[]>;
  /** Creates a silence matching these labels exactly; returns its id. */
  silence(matchers: Record<string, string>, minutes?: number): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startAlertmanager(options: { webhookUrl?: string; groupWait?: string } = {}): Promise<AlertmanagerHandle> {
  if (!binaryExists(ALERTMANAGER_BIN)) throw missingBinaryError('prometheus-alertmanager', ALERTMANAGER_BIN, 'prometheus-alertmanager');
  const dir = await mkdtemp(join(tmpdir(), 'mlops-alertmanager-'));
  const receiver: Record<string, unknown> = { name: 'default' };
  if (options.webhookUrl) receiver.webhook_configs = [{ url: options.webhookUrl, send_resolved: false }];
  const config = {
    route: {
      receiver: 'default',
      group_by: ['alertname', 'model'],
      group_wait: options.groupWait ?? '1s',
      group_interval: '5m',
      repeat_interval: '4h',
    },
    receivers: [receiver],
  };
  await writeFile(join(dir, 'alertmanager.yml'), JSON.stringify(config, null, 2));
  let peer;
  try {
    peer = await startPeer({
      name: 'alertmanager',
      bin: ALERTMANAGER_BIN,
      dir,
      readyPath: '/-/ready',
      args: (port) => [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Empty disables the gossip listener: nothing to cluster with, one port less to clash.
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { url } = peer;
  return {
    url,
    async alerts() {
      const response = await fetch(`${url}/api/v2/alerts`, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`alertmanager GET /api/v2/alerts answered ${response.status}`);
      return (await response.json()) as AlertmanagerAlert[];
    },
    async silence(matchers, minutes = 60) {
      const now = Date.now();
      const response = await fetch(`${url}/api/v2/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          matchers: Object.entries(matchers).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
          startsAt: new Date(now).toISOString(),
          endsAt: new Date(now + minutes * 60_000).toISOString(),
          createdBy: 'mlops-tests',
          comment: 'test silence',
        }),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) throw new Error(`alertmanager POST /api/v2/silences answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { silenceID: string }).silenceID;
    },
    logs: peer.logs,
    async stop() {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
