import { Inject, Injectable, Optional } from '@nestjs/common';
import { AgentDirectory } from '../../execution/agent-directory';
import { RoleAgentAccess } from '../../execution/ports/role-agent-access';
import { AGENT_ACCESS, type AgentAccessPort } from '../../ports/gateway-ports';
import { ProviderRouter } from '../../providers/provider-router';
import { mayRunModels, type Caller } from '../caller';

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** HishamOS: what the id runs on. */
  hishamos?: { kind: 'provider' | 'agent'; provider?: string; agent?: string; name?: string };
}

/**
 * `GET /v1/models`: every configured provider's models as `<provider>/<model>`, and every agent the
 * caller may use as `agent/<slug>` (which applies that agent's system prompt).
 */
@Injectable()
export class ListModelsUseCase {
  private readonly access: AgentAccessPort;
  constructor(
    private readonly router: ProviderRouter,
    private readonly agents: AgentDirectory,
    @Optional() @Inject(AGENT_ACCESS) access?: AgentAccessPort,
  ) {
    this.access = access ?? new RoleAgentAccess();
  }

  async execute(caller: Caller): Promise<ModelEntry[]> {
    const out: ModelEntry[] = [];
    if (mayRunModels(caller.identity)) {
      for (const m of await this.router.models()) {
        out.push({
          id: `${m.provider}/${m.id}`,
          object: 'model',
          created: m.created ?? 0,
          owned_by: m.ownedBy ?? m.provider,
          hishamos: { kind: 'provider', provider: m.provider },
        });
      }
    }
    for (const a of await this.agents.list()) {
      if (!a.enabled || !(await this.access.canUseAgent(caller.identity, a.slug))) continue;
      out.push({
        id: `agent/${a.slug}`,
        object: 'model',
        created: Math.floor(Date.parse(a.updatedAt) / 1000) || 0,
        owned_by: 'hishamos',
        hishamos: { kind: 'agent', agent: a.slug, name: a.name },
      });
    }
    return out;
  }
}
