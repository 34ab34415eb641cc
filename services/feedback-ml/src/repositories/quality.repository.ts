import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { FeatureVector } from '../scoring/features';
import type { QualityScore } from '../scoring/quality-scorer';

export interface ExecutionRow {
  execution_id: string;
  user_id: string;
  team_id: string;
  agent: string;
  command: string;
  template_version: string;
  status: string;
  offline: boolean;
  prompt_length: number;
  output: string;
  input_tokens: string;
  output_tokens: string;
  duration_ms: string;
  completed_at: string;
}

export interface ScoreRow {
  execution_id: string;
  agent: string;
  command: string;
  total: string;
  completeness: string;
  clarity: string;
  correctness: string;
  depth: string;
  formatting: string;
  model_version: string;
  scored_at: string;
}

/** Executions, their quality scores and the aggregates the scorer and the API read. */
@Injectable()
export class QualityRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  async saveExecution(tx: SqlExecutor, e: Omit<ExecutionRow, 'completed_at'>): Promise<boolean> {
    const rows = await tx.query<{ execution_id: string }>(
      `INSERT INTO executions (execution_id, user_id, team_id, agent, command, template_version, status, offline,
         prompt_length, output, input_tokens, output_tokens, duration_ms)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
       ON CONFLICT (execution_id) DO NOTHING RETURNING execution_id`,
      [
        e.execution_id,
        e.user_id,
        e.team_id,
        e.agent,
        e.command,
        e.template_version,
        e.status,
        e.offline,
        e.prompt_length,
        e.output,
        e.input_tokens,
        e.output_tokens,
        e.duration_ms,
      ],
    );
    return rows.length === 1;
  }

  async saveScore(
    tx: SqlExecutor,
    executionId: string,
    agent: string,
    command: string,
    score: QualityScore,
    features: FeatureVector,
  ): Promise<void> {
    const d = score.dimensions;
    await tx.query(
      `INSERT INTO quality_scores (execution_id, agent, command, total, completeness, clarity, correctness, depth,
         formatting, model_version, features)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (execution_id) DO NOTHING`,
      [
        executionId,
        agent,
        command,
        score.total.toFixed(2),
        d.completeness,
        d.clarity,
        d.correctness,
        d.depth,
        d.formatting,
        score.modelVersion,
        JSON.stringify(features),
      ],
    );
  }

  async execution(executionId: string, tx?: SqlExecutor): Promise<ExecutionRow | undefined> {
    const rows = await (tx ?? this.ctx.db).query<ExecutionRow>(`SELECT * FROM executions WHERE execution_id = $1`, [
      executionId,
    ]);
    return rows[0];
  }

  async score(executionId: string): Promise<ScoreRow | undefined> {
    const rows = await this.ctx.db.query<ScoreRow>(`SELECT * FROM quality_scores WHERE execution_id = $1`, [
      executionId,
    ]);
    return rows[0];
  }

  /** The agent's average total so far (the seed's agent_average_score feature); 7.0 before any score. */
  async agentAverage(agent: string, tx?: SqlExecutor): Promise<number> {
    const rows = await (tx ?? this.ctx.db).query<{ avg: string | null }>(
      `SELECT avg(total)::text AS avg FROM quality_scores WHERE agent = $1`,
      [agent],
    );
    return rows[0]?.avg ? Number(rows[0].avg) : 7.0;
  }

  async averages(filter: {
    agent?: string;
  }): Promise<{ agent: string; command: string; count: number; average: number }[]> {
    const rows = await this.ctx.db.query<{ agent: string; command: string; count: string; average: string }>(
      `SELECT agent, command, count(*)::text AS count, round(avg(total), 2)::text AS average
         FROM quality_scores WHERE ($1::text IS NULL OR agent = $1)
        GROUP BY agent, command ORDER BY agent, command`,
      [filter.agent ?? null],
    );
    return rows.map((r) => ({
      agent: r.agent,
      command: r.command,
      count: Number(r.count),
      average: Number(r.average),
    }));
  }

  /** Executions of one command with their score, for the template optimiser. */
  async scoredExecutions(
    agent: string,
    command: string,
    limit: number,
  ): Promise<{ output: string; total: number; issues: string[] }[]> {
    const rows = await this.ctx.db.query<{ output: string; total: string; issues: string[] | null }>(
      `SELECT e.output, q.total::text AS total,
              (SELECT jsonb_agg(DISTINCT i) FROM feedback f, jsonb_array_elements_text(f.issues) i
                WHERE f.execution_id = e.execution_id) AS issues
         FROM executions e JOIN quality_scores q ON q.execution_id = e.execution_id
        WHERE e.agent = $1 AND e.command = $2 AND e.status = 'succeeded'
        ORDER BY e.completed_at DESC LIMIT $3`,
      [agent, command, limit],
    );
    return rows.map((r) => ({ output: r.output, total: Number(r.total), issues: r.issues ?? [] }));
  }

  /** Commands (not agent chats, which have no template to improve) with at least `min` scores. */
  async commandsWithExecutions(min: number): Promise<{ agent: string; command: string; n: number }[]> {
    const rows = await this.ctx.db.query<{ agent: string; command: string; n: string }>(
      `SELECT agent, command, count(*)::text AS n FROM quality_scores
        WHERE command <> '' GROUP BY agent, command HAVING count(*) >= $1`,
      [min],
    );
    return rows.map((r) => ({ agent: r.agent, command: r.command, n: Number(r.n) }));
  }
}
