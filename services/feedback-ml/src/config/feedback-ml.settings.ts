import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

/** feedback-ml's own environment, validated at boot. */
export class FeedbackMlSettings {
  /** Ratings needed (within the window) before a model is trained (the seed: 100). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  ML_MIN_RATINGS = 100;

  /** Ratings older than this many days are not trained on (the seed: 30). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(365)
  ML_WINDOW_DAYS = 30;

  /** How often the scheduled retraining runs; 0 turns the schedule off (on demand only). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ML_RETRAIN_INTERVAL_MINUTES = 60;

  /** Executions a template needs before the optimiser compares its high and low scorers. */
  @Type(() => Number)
  @IsInt()
  @Min(2)
  OPTIMIZER_MIN_EXECUTIONS = 20;

  /** Where the command library is read from (defaults to <repo>/seeds). */
  @IsOptional()
  @IsString()
  SEEDS_DIR?: string;
}
