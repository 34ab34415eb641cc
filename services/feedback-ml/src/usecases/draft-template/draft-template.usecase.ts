import { Inject, Injectable } from '@nestjs/common';
import {
  ApiError,
  InternalHttpClient,
  InternalHttpError,
  SERVICE_CONTEXT,
  type ServiceContext,
} from '@hishamos/platform';
import { SuggestionRepository } from '../../repositories/suggestion.repository';

/**
 * Turns a suggestion into a DRAFT template version at the gateway (which owns templates), for an
 * admin to review there. Never applied automatically: the draft label never runs.
 */
@Injectable()
export class DraftTemplateUseCase {
  private readonly gateway: InternalHttpClient;

  constructor(
    @Inject(SERVICE_CONTEXT) ctx: ServiceContext,
    private readonly suggestions: SuggestionRepository,
  ) {
    this.gateway = new InternalHttpClient({
      baseUrl: () => ctx.urlOf('agent-gateway'),
      serviceToken: ctx.config.SERVICE_TOKEN ?? '',
      caller: ctx.name,
    });
  }

  async execute(id: string, requestedBy: string): Promise<{ suggestionId: string; draftVersion: number }> {
    const s = await this.suggestions.get(id);
    if (!s) throw ApiError.notFound('suggestion', id);
    if (s.status !== 'open') throw ApiError.conflict(`suggestion ${id} is ${s.status}`);
    let res: { version: number };
    try {
      res = await this.gateway.request<{ version: number }>(
        'POST',
        `/internal/v1/templates/${encodeURIComponent(s.agent)}/${encodeURIComponent(s.command)}/drafts`,
        {
          body: {
            template: s.proposed_template,
            note: `Suggested by feedback-ml (${s.suggestions.length} changes; ${s.high_count} high vs ${s.low_count} low scorers); requested by ${requestedBy}`,
          },
        },
      );
    } catch (e) {
      if (e instanceof InternalHttpError)
        throw new ApiError(502, 'gateway_refused_draft', `the gateway refused the draft: ${e.message}`);
      throw new ApiError(502, 'gateway_unreachable', 'the gateway could not be reached to create the draft');
    }
    await this.suggestions.markDrafted(id, res.version);
    return { suggestionId: id, draftVersion: res.version };
  }
}
