import { RandomForestRegression } from 'ml-random-forest';

/** A trained rating predictor (0-10) over the seed's feature rows. */
export interface QualityModel {
  readonly algorithm: string;
  predict(rows: number[][]): number[];
  toJSON(): unknown;
}

export interface TrainOptions {
  seed: number;
  nEstimators?: number;
}

/** Random forest regression (ml-random-forest), the seed's RandomForestRegressor. */
export class RandomForestQualityModel implements QualityModel {
  readonly algorithm = 'random-forest';

  private constructor(private readonly rf: RandomForestRegression) {}

  static train(rows: number[][], targets: number[], opts: TrainOptions): RandomForestQualityModel {
    const rf = new RandomForestRegression({
      seed: opts.seed,
      nEstimators: opts.nEstimators ?? 60,
      maxFeatures: 0.8,
      replacement: true,
      useSampleBagging: true,
      noOOB: true,
      treeOptions: { maxDepth: 8, minNumSamples: 3 },
    } as ConstructorParameters<typeof RandomForestRegression>[0]);
    rf.train(rows, targets);
    return new RandomForestQualityModel(rf);
  }

  static load(json: unknown): RandomForestQualityModel {
    return new RandomForestQualityModel(
      RandomForestRegression.load(json as Parameters<typeof RandomForestRegression.load>[0]),
    );
  }

  predict(rows: number[][]): number[] {
    return this.rf.predict(rows).map((v) => Math.min(10, Math.max(0, v)));
  }

  toJSON(): unknown {
    return this.rf.toJSON();
  }
}

/** Mean absolute error. */
export function mae(predicted: number[], actual: number[]): number {
  if (predicted.length === 0) return 0;
  return predicted.reduce((s, p, i) => s + Math.abs(p - actual[i]), 0) / predicted.length;
}

/** A deterministic shuffle (mulberry32) so a training run is reproducible from its seed. */
export function seededShuffle<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface TrainingExample {
  row: number[];
  /** The rating scaled to 0-10. */
  target: number;
}

export interface TrainingOutcome {
  model: RandomForestQualityModel;
  trainingSize: number;
  holdoutSize: number;
  mae: number;
  baselineMae: number;
  /** The active model's MAE on the same hold-out, when there is one. */
  activeMae?: number;
  promote: boolean;
  reason: string;
}

/**
 * Trains on 80% of the examples and measures on a 20% hold-out: the new model, the mean baseline and
 * the active model (when given) on the same rows. The new model is promoted only if it beats the active
 * one (or, with none active, the baseline).
 */
export function trainAndEvaluate(
  examples: TrainingExample[],
  opts: { seed: number; active?: QualityModel; nEstimators?: number },
): TrainingOutcome {
  const shuffled = seededShuffle(examples, opts.seed);
  const holdoutSize = Math.max(1, Math.round(shuffled.length * 0.2));
  const holdout = shuffled.slice(0, holdoutSize);
  const train = shuffled.slice(holdoutSize);
  const model = RandomForestQualityModel.train(
    train.map((e) => e.row),
    train.map((e) => e.target),
    { seed: opts.seed, nEstimators: opts.nEstimators },
  );
  const actual = holdout.map((e) => e.target);
  const modelMae = mae(model.predict(holdout.map((e) => e.row)), actual);
  const mean = train.reduce((s, e) => s + e.target, 0) / train.length;
  const baselineMae = mae(
    holdout.map(() => mean),
    actual,
  );
  const activeMae = opts.active ? mae(opts.active.predict(holdout.map((e) => e.row)), actual) : undefined;
  const bar = activeMae ?? baselineMae;
  const promote = modelMae < bar;
  const reason = promote
    ? `hold-out MAE ${modelMae.toFixed(3)} beats ${activeMae !== undefined ? 'the active model' : 'the mean baseline'} (${bar.toFixed(3)})`
    : `hold-out MAE ${modelMae.toFixed(3)} does not beat ${activeMae !== undefined ? 'the active model' : 'the mean baseline'} (${bar.toFixed(3)})`;
  return {
    model,
    trainingSize: train.length,
    holdoutSize,
    mae: modelMae,
    baselineMae,
    activeMae,
    promote,
    reason,
  };
}
