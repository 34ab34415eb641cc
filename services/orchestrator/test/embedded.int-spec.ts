import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionStatus, Topics } from '@hishamos/contracts';
import { loadConfig, Platform, PlatformConfig, type RunningService } from '@hishamos/platform';
import { waitFor } from '@hishamos/testing';
import { definition } from '../src';
import { Api, admin, alice } from './fixtures/orchestrator-env';

jest.setTimeout(120000);

/**
 * The same code on the embedded adapters (`make run`): PGlite and the local event log, one process. A workflow
 * with an approval runs to the end, then the platform restarts on the same data directory and a run left
 * waiting for approval resumes.
 */
describe('orchestrator embedded (PGlite, local bus)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orchestrator-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function boot(): Promise<{ platform: Platform; svc: RunningService; executed: string[] }> {
    const env = {
      HISHAMOS_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SERVICE_TOKEN: 'orchestrator-test-service-token-0123456789abcdef',
    };
    const platform = new Platform({ config: loadConfig(PlatformConfig, env), ports: { orchestrator: 0 }, env });
    const [svc] = await platform.start([definition]);
    const executed: string[] = [];
    // A stand-in for the gateway on the local bus: answers every request at once.
    await platform.eventBus.subscribe(
      'embedded-executor',
      Topics.ExecutionRequested,
      svc.context.db,
      async (event, { tx }) => {
        const r = event.payload;
        executed.push(r.idempotencyKey);
        await svc.context.outbox.add(
          tx,
          Topics.ExecutionCompleted,
          {
            executionId: r.executionId,
            idempotencyKey: r.idempotencyKey,
            runId: r.runId,
            stepId: r.stepId,
            attempt: r.attempt,
            userId: r.userId,
            agent: r.agent,
            command: r.command,
            status: ExecutionStatus.SUCCEEDED,
            output: `## Result\n\noffline answer for ${r.stepId}`,
            sections: { stories: `stories for ${r.stepId}` },
            offline: true,
          },
          { key: r.runId },
        );
      },
    );
    return { platform, svc, executed };
  }

  it('runs a workflow with an approval, and resumes a waiting run after a restart', async () => {
    let { platform, svc, executed } = await boot();
    let api = new Api(svc.url).as(alice);
    const def = {
      id: 'embedded-flow',
      name: 'Embedded flow',
      version: 1,
      description: 'draft, approve, check',
      inputs: { type: 'object', required: ['feature'], properties: { feature: { type: 'string', minLength: 1 } } },
      steps: [
        {
          id: 'draft',
          agent: 'business-analyst',
          command: 'write_user_stories',
          inputs: { feature: '${inputs.feature}' },
        },
        { id: 'gate', type: 'approval', depends_on: ['draft'], approvers: ['admin'], prompt: 'Go?' },
        {
          id: 'check',
          agent: 'qa',
          command: 'reproduce_bug',
          depends_on: ['gate'],
          inputs: { report: '${steps.draft.sections.stories}' },
        },
      ],
    };
    try {
      expect((await api.as(admin).post('/v1/workflows', { definition: def })).status).toBe(201);
      const first = (await api.post<{ id: string }>('/v1/workflows/embedded-flow/runs', { inputs: { feature: 'x' } }))
        .body;
      const second = (await api.post<{ id: string }>('/v1/workflows/embedded-flow/runs', { inputs: { feature: 'y' } }))
        .body;
      const waiting = async (id: string) =>
        waitFor(
          async () =>
            (await api.get<{ steps: { status: string }[] }>(`/v1/runs/${id}`)).body.steps[1].status ===
            'waiting_approval'
              ? true
              : undefined,
          {
            what: `run ${id} waiting`,
          },
        );
      await waiting(first.id);
      await waiting(second.id);
      expect((await api.as(admin).post(`/v1/runs/${first.id}/steps/gate/approve`, {})).status).toBe(200);
      const done = await waitFor(async () => {
        const r = await api.get<{ status: string; outputs: unknown }>(`/v1/runs/${first.id}`);
        return r.body.status === 'succeeded' ? r.body : undefined;
      });
      expect(done.status).toBe('succeeded');
      expect(executed.filter((k) => k.startsWith(first.id))).toHaveLength(2);
    } finally {
      await platform.stop();
    }

    // Restart on the same data: the second run is still waiting, and resumes on approval.
    ({ platform, svc, executed } = await boot());
    api = new Api(svc.url).as(alice);
    try {
      const before = (
        await api.get<{ status: string; steps: { status: string }[] }>(`/v1/runs/${(await listOne(api)).id}`)
      ).body;
      expect(before.status).toBe('running');
      expect(before.steps.map((s) => s.status)).toEqual(['succeeded', 'waiting_approval', 'pending']);
      const id = (await listOne(api)).id;
      expect((await api.as(admin).post(`/v1/runs/${id}/steps/gate/approve`, {})).status).toBe(200);
      await waitFor(
        async () =>
          (await api.get<{ status: string }>(`/v1/runs/${id}`)).body.status === 'succeeded' ? true : undefined,
        {
          what: 'resumed run done',
        },
      );
      const events = await api.get<{ events: { kind: string }[] }>(`/v1/runs/${id}/events`);
      expect(events.body.events.map((e) => e.kind)).toEqual([
        'queued',
        'started',
        'step_started',
        'step_succeeded',
        'step_waiting_approval',
        'step_succeeded',
        'step_started',
        'step_succeeded',
        'completed',
      ]);
    } finally {
      await platform.stop();
    }
  });
});

async function listOne(api: Api): Promise<{ id: string }> {
  const r = await api.get<{ runs: { id: string; status: string }[] }>('/v1/runs?status=running');
  expect(r.body.runs).toHaveLength(1);
  return r.body.runs[0];
}
