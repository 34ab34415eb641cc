import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';

export interface ModelVersionRow {
  version: number;
  algorithm: string;
  features: string[];
  training_size: number;
  holdout_size: number;
  mae: string;
  baseline_mae: string;
  active_mae_on_holdout: string | null;
  promoted: boolean;
  active: boolean;
  reason: string;
  trained_at: string;
}

/** Trained model versions; at most one active. */
@Injectable()
export class ModelRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  async active(): Promise<{ version: number; model: unknown } | undefined> {
    const rows = await this.ctx.db.query<{ version: number; model: unknown }>(
      `SELECT version, model FROM model_versions WHERE active`,
    );
    return rows[0];
  }

  async activeVersion(): Promise<number | undefined> {
    const rows = await this.ctx.db.query<{ version: number }>(`SELECT version FROM model_versions WHERE active`);
    return rows[0]?.version;
  }

  /** Records a trained version; when promoted, it becomes the only active one in the same transaction. */
  async record(v: {
    algorithm: string;
    features: readonly string[];
    trainingSize: number;
    holdoutSize: number;
    mae: number;
    baselineMae: number;
    activeMae?: number;
    promoted: boolean;
    reason: string;
    model: unknown;
  }): Promise<number> {
    return this.ctx.db.transaction(async (tx) => {
      if (v.promoted) await tx.query(`UPDATE model_versions SET active = false WHERE active`);
      const rows = await tx.query<{ version: number }>(
        `INSERT INTO model_versions (algorithm, features, training_size, holdout_size, mae, baseline_mae,
           active_mae_on_holdout, promoted, active, reason, model)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8,$9,$10) RETURNING version`,
        [
          v.algorithm,
          JSON.stringify(v.features),
          v.trainingSize,
          v.holdoutSize,
          v.mae.toFixed(4),
          v.baselineMae.toFixed(4),
          v.activeMae === undefined ? null : v.activeMae.toFixed(4),
          v.promoted,
          v.reason,
          JSON.stringify(v.model),
        ],
      );
      return rows[0].version;
    });
  }

  async list(): Promise<ModelVersionRow[]> {
    return this.ctx.db.query<ModelVersionRow>(
      `SELECT version, algorithm, features, training_size, holdout_size, mae::text AS mae, baseline_mae::text AS baseline_mae,
              active_mae_on_holdout::text AS active_mae_on_holdout, promoted, active, reason, trained_at
         FROM model_versions ORDER BY version DESC`,
    );
  }
}
