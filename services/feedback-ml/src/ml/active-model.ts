import { Injectable } from '@nestjs/common';
import { ModelRepository } from '../repositories/model.repository';
import { RandomForestQualityModel, type QualityModel } from './quality-model';

/**
 * The active model, held in memory so scoring never waits for the database or for training. Another
 * replica's promotion is picked up by `refresh()` (called on a timer and after local training).
 */
@Injectable()
export class ActiveModel {
  private current?: { version: number; model: QualityModel };

  constructor(private readonly models: ModelRepository) {}

  get(): { version: number; model: QualityModel } | undefined {
    return this.current;
  }

  async refresh(): Promise<void> {
    const version = await this.models.activeVersion();
    if (version === undefined) {
      this.current = undefined;
      return;
    }
    if (this.current?.version === version) return;
    const row = await this.models.active();
    if (row) this.current = { version: row.version, model: RandomForestQualityModel.load(row.model) };
  }
}
