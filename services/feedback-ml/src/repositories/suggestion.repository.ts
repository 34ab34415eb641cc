import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';

export interface Suggestion {
  kind: 'add_section' | 'require_code' | 'require_examples' | 'more_depth' | 'address_issue';
  detail: string;
  evidence: string;
}

export interface SuggestionRow {
  id: string;
  agent: string;
  command: string;
  executions: number;
  high_count: number;
  low_count: number;
  suggestions: Suggestion[];
  proposed_template: string;
  status: 'open' | 'drafted' | 'dismissed';
  draft_version: number | null;
  created_at: string;
  updated_at: string;
}

/** The template optimiser's suggestions; one open suggestion per command, refreshed on each run. */
@Injectable()
export class SuggestionRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  async upsertOpen(
    s: Omit<SuggestionRow, 'id' | 'status' | 'draft_version' | 'created_at' | 'updated_at'>,
  ): Promise<SuggestionRow> {
    const rows = await this.ctx.db.query<SuggestionRow>(
      `INSERT INTO template_suggestions (id, agent, command, executions, high_count, low_count, suggestions, proposed_template)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
       ON CONFLICT (agent, command) WHERE status = 'open' DO UPDATE
         SET executions = EXCLUDED.executions, high_count = EXCLUDED.high_count, low_count = EXCLUDED.low_count,
             suggestions = EXCLUDED.suggestions, proposed_template = EXCLUDED.proposed_template, updated_at = now()
       RETURNING *`,
      [
        randomUUID(),
        s.agent,
        s.command,
        s.executions,
        s.high_count,
        s.low_count,
        JSON.stringify(s.suggestions),
        s.proposed_template,
      ],
    );
    return rows[0];
  }

  async get(id: string): Promise<SuggestionRow | undefined> {
    const rows = await this.ctx.db.query<SuggestionRow>(`SELECT * FROM template_suggestions WHERE id = $1`, [id]);
    return rows[0];
  }

  async list(status?: string): Promise<SuggestionRow[]> {
    return this.ctx.db.query<SuggestionRow>(
      `SELECT * FROM template_suggestions WHERE ($1::text IS NULL OR status = $1) ORDER BY updated_at DESC LIMIT 200`,
      [status ?? null],
    );
  }

  async markDrafted(id: string, version: number): Promise<void> {
    await this.ctx.db.query(
      `UPDATE template_suggestions SET status = 'drafted', draft_version = $2, updated_at = now() WHERE id = $1`,
      [id, version],
    );
  }

  async dismiss(id: string): Promise<void> {
    await this.ctx.db.query(`UPDATE template_suggestions SET status = 'dismissed', updated_at = now() WHERE id = $1`, [
      id,
    ]);
  }
}
