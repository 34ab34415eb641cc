import { FEATURE_NAMES } from '../scoring/features';
import { mae, RandomForestQualityModel, seededShuffle, trainAndEvaluate, type TrainingExample } from './quality-model';

/** A hidden rule the model must learn: ratings rise with code, examples, self-critique and depth, plus noise. */
function synthetic(n: number, seed: number): TrainingExample[] {
  let s = seed;
  const rand = () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return s / 4294967296;
  };
  return Array.from({ length: n }, () => {
    const f = {
      prompt_length: 200 + rand() * 2000,
      response_length: 200 + rand() * 6000,
      tokens_used: 100 + rand() * 3000,
      response_time: rand() * 30,
      agent_average_score: 5 + rand() * 4,
      command_difficulty: 1 + Math.floor(rand() * 5),
      has_code: rand() < 0.5 ? 1 : 0,
      has_examples: rand() < 0.5 ? 1 : 0,
      has_self_critique: rand() < 0.5 ? 1 : 0,
    };
    const rule =
      1 +
      1.6 * f.has_code +
      0.9 * f.has_examples +
      0.8 * f.has_self_critique +
      (f.response_length > 3000 ? 0.7 : 0) -
      (f.command_difficulty >= 4 ? 0.6 : 0);
    const rating = Math.min(5, Math.max(1, Math.round(rule + (rand() - 0.5) * 0.8)));
    return { row: FEATURE_NAMES.map((k) => f[k]), target: rating * 2 };
  });
}

describe('quality model training', () => {
  it('learns the hidden rule: hold-out MAE clearly below the mean baseline, and is promoted', () => {
    const outcome = trainAndEvaluate(synthetic(400, 7), { seed: 42 });
    expect(outcome.trainingSize + outcome.holdoutSize).toBe(400);
    expect(outcome.mae).toBeLessThan(outcome.baselineMae * 0.6);
    expect(outcome.promote).toBe(true);
    expect(outcome.reason).toContain('mean baseline');
  });

  it('does not promote a new model that is worse than the active one on the same hold-out', () => {
    const data = synthetic(300, 99);
    // An active model that knows every answer: no retrained forest can beat MAE 0 on any hold-out.
    const truth = new Map(data.map((d) => [d.row.join(','), d.target]));
    const oracle = {
      algorithm: 'oracle',
      predict: (rows: number[][]) => rows.map((r) => truth.get(r.join(','))!),
      toJSON: () => ({}),
    };
    const challenger = trainAndEvaluate(data, { seed: 3, active: oracle });
    expect(challenger.activeMae).toBe(0);
    expect(challenger.mae).toBeGreaterThan(0);
    expect(challenger.promote).toBe(false);
    expect(challenger.reason).toContain('does not beat the active model');
    // Against an active model trained on noise, the same retraining wins.
    const shuffled = seededShuffle(
      data.map((d) => d.target),
      5,
    );
    const noiseModel = RandomForestQualityModel.train(
      data.map((d) => d.row),
      shuffled,
      { seed: 1 },
    );
    const vsNoise = trainAndEvaluate(data, { seed: 3, active: noiseModel });
    expect(vsNoise.mae).toBeLessThan(vsNoise.activeMae!);
    expect(vsNoise.promote).toBe(true);
  });

  it('round-trips a model through JSON with identical predictions', () => {
    const data = synthetic(150, 11);
    const m = RandomForestQualityModel.train(
      data.map((d) => d.row),
      data.map((d) => d.target),
      { seed: 9 },
    );
    const copy = RandomForestQualityModel.load(JSON.parse(JSON.stringify(m.toJSON())));
    const rows = data.slice(0, 20).map((d) => d.row);
    expect(copy.predict(rows)).toEqual(m.predict(rows));
  });

  it('computes MAE', () => {
    expect(mae([1, 2, 3], [1, 4, 0])).toBeCloseTo(5 / 3, 10);
  });
});
