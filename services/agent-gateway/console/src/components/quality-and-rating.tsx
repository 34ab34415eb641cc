import { useEffect, useState } from 'react';
import { api, ApiProblem } from '../api';
import { useSession } from '../session';
import type { FeedbackItem, QualityScore } from '../types';
import { ErrorBanner, useAction } from './common';

/** feedback-ml's 0-10 score of an execution's output; waits a little while it is being scored. */
export function QualityScoreView({ executionId }: { executionId: string }) {
  const [score, setScore] = useState<QualityScore | null>(null);
  const [state, setState] = useState<'loading' | 'waiting' | 'none' | 'error'>('loading');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    let tries = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const s = await api<QualityScore>(`/v1/quality/executions/${executionId}`);
        if (!stopped) setScore(s);
      } catch (e) {
        if (stopped) return;
        if (e instanceof ApiProblem && e.status === 404) {
          tries += 1;
          if (tries < 20) {
            setState('waiting');
            timer = setTimeout(load, 1500);
          } else setState('none');
        } else {
          setError(e);
          setState('error');
        }
      }
    };
    void load();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [executionId]);
  if (score)
    return (
      <span
        className="quality"
        data-testid="quality-score"
        title={Object.entries(score.dimensions)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}
      >
        Quality <strong>{score.total.toFixed(1)}</strong>/10
      </span>
    );
  if (state === 'error') return <ErrorBanner error={error} />;
  return (
    <span className="muted small" data-testid="quality-score-pending">
      {state === 'none' ? 'Not scored' : 'Scoring…'}
    </span>
  );
}

/** Rate an output 1-5 (one rating per person; rating again replaces it). */
export function RateOutput({ executionId }: { executionId: string }) {
  const { me } = useSession();
  const [rating, setRating] = useState(0);
  const [hover, setHover] = useState(0);
  const [text, setText] = useState('');
  const [saved, setSaved] = useState<number | null>(null);
  const { busy, error, run } = useAction();

  useEffect(() => {
    let stopped = false;
    api<{ items: FeedbackItem[] }>(`/v1/executions/${executionId}/feedback`)
      .then((r) => {
        const mine = r.items.find((f) => f.user_id === me.identity.subject);
        if (!stopped && mine) {
          setSaved(mine.rating);
          setRating(mine.rating);
          setText(mine.text ?? '');
        }
      })
      .catch(() => undefined);
    return () => {
      stopped = true;
    };
  }, [executionId, me.identity.subject]);

  const submit = () =>
    void run(async () => {
      await api(`/v1/executions/${executionId}/feedback`, {
        body: text.trim() ? { rating, text: text.trim() } : { rating },
      });
      setSaved(rating);
    });

  return (
    <div className="rating" data-testid="rate-output">
      <div className="stars" role="radiogroup" aria-label="Rate this output">
        {[1, 2, 3, 4, 5].map((n) => (
          <button
            key={n}
            type="button"
            role="radio"
            aria-checked={rating === n}
            aria-label={`Rate ${n} out of 5`}
            className={`star ${(hover || rating) >= n ? 'lit' : ''}`}
            onMouseEnter={() => setHover(n)}
            onMouseLeave={() => setHover(0)}
            onClick={() => setRating(n)}
          >
            ★
          </button>
        ))}
      </div>
      <input
        className="rating-text"
        placeholder="What was good or missing? (optional)"
        aria-label="Feedback comment"
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="button" disabled={busy || rating === 0} onClick={submit}>
        {saved !== null && saved !== rating ? 'Update rating' : 'Rate'}
      </button>
      {saved !== null && (
        <span className="muted small" data-testid="rating-saved">
          You rated this {saved}/5.
        </span>
      )}
      <ErrorBanner error={error} />
    </div>
  );
}
