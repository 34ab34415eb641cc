import { Injectable } from '@nestjs/common';
import type { Identity } from '@hishamos/platform';
import type { UserView } from '../../identity.types';
import { UserRepository, userView } from '../../users/user.repository';
import { GetAgentAccessUseCase, type AgentAccessView } from '../get-agent-access/get-agent-access.usecase';

export interface MeView {
  identity: Identity;
  user?: UserView;
  agentAccess?: AgentAccessView;
}

/** Who the caller is: the identity the request carries, their user record and which agents they may use. */
@Injectable()
export class GetMeUseCase {
  constructor(
    private readonly users: UserRepository,
    private readonly agentAccess: GetAgentAccessUseCase,
  ) {}

  async execute(identity: Identity): Promise<MeView> {
    if (identity.kind !== 'user') return { identity };
    const user = await this.users.findById(identity.subject);
    if (!user) return { identity };
    return { identity, user: userView(user), agentAccess: await this.agentAccess.execute(user.id) };
  }
}
