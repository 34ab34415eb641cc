import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CurrentIdentity, ServiceOnly, type Identity } from '@hishamos/platform';
import type { TemplateVersion } from './catalog.types';
import { CreateTemplateDraftDto } from './dto/catalog.dto';
import { CreateTemplateVersionUseCase } from './usecases/create-template-version/create-template-version.usecase';

/** For feedback-ml: a template suggestion becomes a DRAFT version (label `draft`), never production. */
@Controller('internal/v1/templates')
export class InternalTemplatesController {
  constructor(private readonly createVersion: CreateTemplateVersionUseCase) {}

  @ServiceOnly('feedback-ml')
  @Post(':agent/:command/drafts')
  @HttpCode(201)
  draft(
    @Param('agent') agent: string,
    @Param('command') command: string,
    @Body() body: CreateTemplateDraftDto,
    @CurrentIdentity() identity: Identity,
  ): Promise<TemplateVersion> {
    const note = [body.suggestionId ? `suggestion ${body.suggestionId}` : undefined, body.note]
      .filter((s) => s !== undefined && s !== '')
      .join(': ');
    return this.createVersion.execute({
      agent,
      command,
      template: body.template,
      inputSchema: body.inputSchema,
      outputSchema: body.outputSchema,
      note: note || undefined,
      createdBy: `service:${identity.subject}`,
      source: 'suggestion',
    });
  }
}
