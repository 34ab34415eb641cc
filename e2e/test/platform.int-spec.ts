import { SERVICE_NAMES } from '@hishamos/contracts';
import { waitFor } from '@hishamos/testing';
import { Harness, HttpSink } from '../src';

describe('the platform distributed: six processes, Kafka, Postgres, Prometheus, Alertmanager', () => {
  const pagerDuty = new HttpSink();
  let h: Harness;

  beforeAll(async () => {
    await pagerDuty.start();
    h = new Harness({
      prometheus: {
        pagerDutyUrl: `${pagerDuty.url}/v2/enqueue`,
        pagerDutyRoutingKey: 'e2e-routing-key-0123456789abcdef',
      },
    });
    await h.start();
  });
  afterAll(async () => {
    await h?.stop();
    await pagerDuty.stop();
  });

  it('starts every service ready on Postgres and Kafka', async () => {
    for (const s of SERVICE_NAMES) {
      const r = await fetch(`${h.url(s)}/health/ready`);
      const body = (await r.json()) as { checks: { database: { kind: string }; bus: { transport: string } } };
      expect(r.status).toBe(200);
      expect(body.checks.database.kind).toBe('postgres');
      expect(body.checks.bus.transport).toBe('kafka');
    }
  });

  it('is scraped by Prometheus with the project rules loaded', async () => {
    const prom = h.prometheus!.prometheusUrl;
    await waitFor(
      async () => {
        const r = (await (await fetch(`${prom}/api/v1/targets`)).json()) as {
          data: { activeTargets: { health: string; labels: { service: string } }[] };
        };
        const up = r.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.service);
        return SERVICE_NAMES.every((s) => up.includes(s));
      },
      { what: 'all six targets up', timeoutMs: 30000, intervalMs: 500 },
    );
    const rules = (await (await fetch(`${prom}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string }[] }[] };
    };
    const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    for (const alert of ['HighErrorRate', 'WorkflowDurationHigh', 'HighAPICost', 'AgentDown', 'ProviderCircuitOpen'])
      expect(names).toContain(alert);
    const q = (await (await fetch(`${prom}/api/v1/query?query=sum(hishamos_service_up)`)).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    expect(Number(q.data.result[0]?.value[1])).toBe(SERVICE_NAMES.length);
  });
});
