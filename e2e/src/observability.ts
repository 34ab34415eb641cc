import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports';
import { startProcess, stopProcess, type ManagedProcess } from './processes';

export interface PrometheusStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

/**
 * Debian's Prometheus scraping every service each second with the project's rule files, and
 * Debian's Alertmanager routing every alert to the alerting service's receiver, and critical ones
 * and ProviderCircuitOpen to a PagerDuty Events API v2 endpoint.
 */
export async function startPrometheusStack(opts: {
  repo: string;
  dir: string;
  targets: Record<string, string>;
  alertingReceiverUrl: string;
  alertingToken: string;
  pagerDutyUrl: string;
  pagerDutyRoutingKey: string;
}): Promise<PrometheusStack> {
  mkdirSync(opts.dir, { recursive: true });
  const [promPort, amPort] = [await freePort(), await freePort()];
  const rulesDir = join(opts.repo, 'deploy', 'prometheus', 'rules');
  const rules = readdirSync(rulesDir)
    .filter((f) => f.endsWith('.yml') && !f.endsWith('.test.yml') && !f.includes('test'))
    .map((f) => join(rulesDir, f));
  const targets = Object.entries(opts.targets).map(([service, url]) => ({
    targets: [new URL(url).host],
    labels: { service },
  }));
  const promConfig = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: rules,
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
    scrape_configs: [{ job_name: 'hishamos', honor_labels: true, static_configs: targets }],
  };
  writeFileSync(join(opts.dir, 'prometheus.yml'), JSON.stringify(promConfig, null, 2));
  writeFileSync(join(opts.dir, 'alerting-token'), opts.alertingToken, { mode: 0o600 });
  writeFileSync(join(opts.dir, 'pagerduty-routing-key'), opts.pagerDutyRoutingKey, { mode: 0o600 });
  const amConfig = {
    global: { resolve_timeout: '1m' },
    route: {
      receiver: 'hishamos-alerting',
      group_by: ['alertname', 'service'],
      group_wait: '1s',
      group_interval: '2s',
      repeat_interval: '1h',
      routes: [
        { receiver: 'hishamos-alerting', continue: true },
        { receiver: 'pagerduty-critical', matchers: ['severity="critical"'] },
        // deploy/prometheus/rules gives ProviderCircuitOpen severity "error", which the example routing
        // (deploy/alertmanager) sends to Slack only; an on-call team that pages on it adds this route.
        { receiver: 'pagerduty-critical', matchers: ['alertname="ProviderCircuitOpen"'] },
      ],
    },
    receivers: [
      {
        name: 'hishamos-alerting',
        webhook_configs: [
          {
            url: opts.alertingReceiverUrl,
            send_resolved: true,
            http_config: { authorization: { type: 'Bearer', credentials_file: join(opts.dir, 'alerting-token') } },
          },
        ],
      },
      {
        name: 'pagerduty-critical',
        pagerduty_configs: [
          {
            routing_key_file: join(opts.dir, 'pagerduty-routing-key'),
            url: opts.pagerDutyUrl,
            send_resolved: true,
            severity: 'critical',
            client: 'HishamOS Alertmanager',
          },
        ],
      },
    ],
  };
  writeFileSync(join(opts.dir, 'alertmanager.yml'), JSON.stringify(amConfig, null, 2));
  const am = startProcess(
    'alertmanager',
    'prometheus-alertmanager',
    [
      `--config.file=${join(opts.dir, 'alertmanager.yml')}`,
      `--storage.path=${join(opts.dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ],
    { env: process.env, cwd: opts.dir, log: join(opts.dir, 'alertmanager.log') },
  );
  const prom = startProcess(
    'prometheus',
    'prometheus',
    [
      `--config.file=${join(opts.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(opts.dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { env: process.env, cwd: opts.dir, log: join(opts.dir, 'prometheus.log') },
  );
  const prometheusUrl = `http://127.0.0.1:${promPort}`;
  const alertmanagerUrl = `http://127.0.0.1:${amPort}`;
  for (const [what, url] of [
    ['prometheus', `${prometheusUrl}/-/ready`],
    ['alertmanager', `${alertmanagerUrl}/-/ready`],
  ]) {
    const deadline = Date.now() + 30000;
    for (;;) {
      const ok = await fetch(url).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${what} did not become ready (see ${opts.dir}/${what}.log)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    prometheusUrl,
    alertmanagerUrl,
    processes: [prom, am],
    stop: async () => {
      await stopProcess(prom);
      await stopProcess(am);
    },
  };
}
