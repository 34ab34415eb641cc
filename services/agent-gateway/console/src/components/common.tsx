import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { errorText } from '../api';

/** An API failure (or any error) in plain words, with a way to dismiss it. */
export function ErrorBanner({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert">
      <span>{errorText(error)}</span>
      {onDismiss && (
        <button type="button" className="link" onClick={onDismiss} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

export function Notice({ children, kind = 'ok' }: { children: ReactNode; kind?: 'ok' | 'info' | 'warn' }) {
  return (
    <div className={`banner banner-${kind}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p className="muted">{what}…</p>;
}

/** Loads data with the given function; reloads when `deps` change or `reload()` is called. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(null);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted || (e as Error)?.name === 'AbortError') return;
        setError(e);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

/** Runs an action, tracking busy state and its error. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** Client-side pagination of a list. */
export function usePaged<T>(items: T[], pageSize: number, resetKey?: unknown) {
  const [page, setPage] = useState(0);
  useEffect(() => setPage(0), [resetKey]);
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  const current = Math.min(page, pages - 1);
  return {
    items: items.slice(current * pageSize, (current + 1) * pageSize),
    pager: <Pager page={current} pages={pages} total={items.length} onPage={setPage} />,
  };
}

export function Pager({
  page,
  pages,
  total,
  onPage,
}: {
  page: number;
  pages: number;
  total: number;
  onPage: (page: number) => void;
}) {
  if (pages <= 1) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
        ‹ Previous
      </button>
      <span>
        Page {page + 1} of {pages} ({total})
      </span>
      <button type="button" disabled={page >= pages - 1} onClick={() => onPage(page + 1)}>
        Next ›
      </button>
    </nav>
  );
}

/** Cursor pagination (`nextCursor` from the API): a stack of cursors for going back. */
export function useCursor(resetKey?: unknown) {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setStack([undefined]), [resetKey]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    controls: (nextCursor: string | null | undefined) =>
      stack.length > 1 || nextCursor ? (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={stack.length <= 1} onClick={() => setStack((s) => s.slice(0, -1))}>
            ‹ Newer
          </button>
          <span>Page {stack.length}</span>
          <button type="button" disabled={!nextCursor} onClick={() => setStack((s) => [...s, nextCursor!])}>
            Older ›
          </button>
        </nav>
      ) : null,
  };
}

export function Toggle({
  checked,
  onChange,
  label,
  disabled,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      title={label}
      disabled={disabled}
      className={`switch ${checked ? 'on' : 'off'}`}
      onClick={() => onChange(!checked)}
    >
      <span className="knob" />
    </button>
  );
}

const STATUS_CLASS: Record<string, string> = {
  succeeded: 'ok',
  ok: 'ok',
  active: 'ok',
  delivered: 'ok',
  running: 'info',
  queued: 'info',
  pending: 'muted',
  retrying: 'warn',
  waiting_approval: 'warn',
  failed: 'bad',
  error: 'bad',
  critical: 'bad',
  warning: 'warn',
  cancelled: 'muted',
  skipped: 'muted',
  disabled: 'muted',
  info: 'info',
  allowed: 'ok',
  denied: 'bad',
  within_limits: 'ok',
  soft_limit_reached: 'warn',
  hard_limit_reached: 'bad',
  trigger: 'warn',
  resolve: 'ok',
  sent: 'ok',
  dead: 'bad',
};

export function Badge({ value, title }: { value: string; title?: string }) {
  return (
    <span className={`badge badge-${STATUS_CLASS[value] ?? 'muted'}`} title={title}>
      {value.replace(/_/g, ' ')}
    </span>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function Field({
  label,
  hint,
  children,
  error,
}: {
  label: string;
  hint?: ReactNode;
  children: ReactNode;
  error?: string;
}) {
  return (
    <label className={`field ${error ? 'field-error' : ''}`}>
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="field-hint">{hint}</span>}
      {error && <span className="field-message">{error}</span>}
    </label>
  );
}

export function Tabs<T extends string>({
  tabs,
  current,
  onChange,
}: {
  tabs: { id: T; label: string }[];
  current: T;
  onChange: (id: T) => void;
}) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((t) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          aria-selected={t.id === current}
          className={t.id === current ? 'tab active' : 'tab'}
          onClick={() => onChange(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
