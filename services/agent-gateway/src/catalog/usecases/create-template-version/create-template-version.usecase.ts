import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { validateCommandSeed, type InputSchema, type OutputSchema } from '@hishamos/catalog';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AUDIT_LOG, type AuditLogPort } from '../../../ports/gateway-ports';
import { toValidCommand } from '../../assert-valid';
import { CatalogRepository } from '../../catalog.repository';
import type { TemplateSource, TemplateVersion } from '../../catalog.types';
import { templateContentHash } from '../../content-hash';
import { DRAFT, LABEL_PATTERN, LATEST, PRODUCTION, SYSTEM_LABELS } from '../../template-labels';

export const MAX_TEMPLATE_CHARS = 50_000;

export class CreateTemplateVersionCommand {
  @IsString()
  @IsNotEmpty()
  agent!: string;

  @IsString()
  @IsNotEmpty()
  command!: string;

  @IsString()
  @Matches(/\S/, { message: 'template must not be blank' })
  @MaxLength(MAX_TEMPLATE_CHARS)
  template!: string;

  /** Defaults to the input schema of the version labelled `latest`. */
  @IsOptional()
  @IsObject()
  inputSchema?: InputSchema;

  /** Defaults to the output schema of the version labelled `latest`. */
  @IsOptional()
  @IsObject()
  outputSchema?: OutputSchema;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;

  /** Labels to put on the new version (admins: e.g. `production` to promote at once). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @Matches(LABEL_PATTERN, { each: true, message: 'each label must match ^[a-z][a-z0-9_-]{0,39}$' })
  labels?: string[];

  /** Who writes it: a user id, or `service:<name>` for drafts. */
  @IsString()
  @IsNotEmpty()
  createdBy!: string;

  @IsIn(['admin', 'suggestion'])
  source!: Extract<TemplateSource, 'admin' | 'suggestion'>;
}

/** catalog field names (snake_case) as the API spells them. */
const apiField = (field: string): string =>
  field.replace(/^input_schema/, 'inputSchema').replace(/^output_schema/, 'outputSchema');

/**
 * Writes a new immutable version of a command's template (an admin edit, or a draft from a
 * feedback-ml suggestion), checked by libs/catalog like a seed: every placeholder declared in the
 * input schema and every property used, schemas that compile, output sections with distinct titles.
 * Admin versions become `latest`; drafts get only `draft` and can never carry `production`.
 */
@Injectable()
export class CreateTemplateVersionUseCase {
  constructor(
    private readonly catalog: CatalogRepository,
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    @Optional() @Inject(AUDIT_LOG) private readonly audit?: AuditLogPort,
  ) {}

  async execute(input: CreateTemplateVersionCommand): Promise<TemplateVersion> {
    const command = toValidCommand(CreateTemplateVersionCommand, input);
    const labels = new Set(command.labels ?? []);
    for (const label of labels) {
      if (SYSTEM_LABELS.includes(label))
        throw ApiError.badRequest('labels', `"${label}" is kept by the system and cannot be set`, 'reserved_label');
    }
    if (command.source === 'suggestion') {
      if (labels.has(PRODUCTION))
        throw ApiError.badRequest('labels', 'a suggestion is a draft; it can never be production', 'reserved_label');
      labels.clear();
      labels.add(DRAFT);
    }
    const summary = await this.catalog.getCommandSummary(command.agent, command.command);
    if (!summary) throw ApiError.notFound('command', `${command.agent}/${command.command}`);
    const base =
      summary.labels[LATEST] !== undefined
        ? await this.catalog.getVersion(command.agent, command.command, summary.labels[LATEST])
        : undefined;
    const inputSchema = command.inputSchema ?? base?.inputSchema ?? summary.inputSchema;
    const outputSchema = command.outputSchema ?? base?.outputSchema ?? summary.outputSchema;

    const problems = validateCommandSeed({
      name: summary.name,
      category: summary.category,
      description: summary.description,
      difficulty: summary.difficulty,
      template: command.template,
      input_schema: inputSchema,
      output_schema: outputSchema,
    });
    if (problems.length > 0) {
      const [first] = problems;
      throw new ApiError(400, 'invalid_template', `${apiField(first.field)}: ${first.message}`, {
        field: apiField(first.field),
        reason: first.message,
        details: problems.map((p) => ({ field: apiField(p.field), reason: p.message })),
      });
    }
    if (base && base.contentHash === templateContentHash(command.template, inputSchema, outputSchema)) {
      throw ApiError.conflict(
        `the template and schemas are identical to version ${base.version}; move a label to reuse it`,
        'no_change',
      );
    }

    return this.ctx.db.transaction(async (tx) => {
      const created = await this.catalog.createVersion(
        {
          agent: command.agent,
          command: command.command,
          template: command.template,
          inputSchema,
          outputSchema,
          createdBy: command.createdBy,
          source: command.source,
          note: command.note ?? null,
          labels: [...labels],
        },
        tx,
      );
      if (!created) throw ApiError.notFound('command', `${command.agent}/${command.command}`);
      await this.audit?.record(
        {
          actor: command.createdBy,
          action: command.source === 'suggestion' ? 'template.draft_created' : 'template.version_created',
          resourceType: 'command_template',
          resourceId: `${command.agent}/${command.command}@${created.version}`,
          outcome: 'success',
          details: { labels: created.labels, note: command.note ?? null },
        },
        tx,
      );
      return created;
    });
  }
}
