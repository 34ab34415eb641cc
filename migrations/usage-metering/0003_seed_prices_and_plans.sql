-- List prices in USD per million tokens (standard tier, no batch discount; Gemini 2.5 Pro at its
-- <=200k-token prompt tier). Cached input: OpenAI cached input, Anthropic cache reads, Gemini context
-- caching. OpenRouter passes provider prices through under provider-prefixed model ids.
-- Edit them through PUT /v1/prices (a new row with a later effective_from keeps history exact).
INSERT INTO model_prices (provider, model, input_per_mtok_usd, output_per_mtok_usd, cached_input_per_mtok_usd, effective_from, created_by)
VALUES
  -- The offline provider (no network, used when no key is configured) costs nothing, explicitly.
  ('offline', 'offline', 0, 0, 0, '2020-01-01T00:00:00Z', 'seed'),

  ('openai', 'gpt-5', 1.25, 10.00, 0.125, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'gpt-5-mini', 0.25, 2.00, 0.025, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'gpt-5-nano', 0.05, 0.40, 0.005, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'gpt-4.1', 2.00, 8.00, 0.50, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'gpt-4.1-mini', 0.40, 1.60, 0.10, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'gpt-4.1-nano', 0.10, 0.40, 0.025, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'gpt-4o', 2.50, 10.00, 1.25, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'gpt-4o-mini', 0.15, 0.60, 0.075, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'o3', 2.00, 8.00, 0.50, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'o3-mini', 1.10, 4.40, 0.55, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'o4-mini', 1.10, 4.40, 0.275, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'o1', 15.00, 60.00, 7.50, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'text-embedding-3-small', 0.02, 0, NULL, '2020-01-01T00:00:00Z', 'seed'),
  ('openai', 'text-embedding-3-large', 0.13, 0, NULL, '2020-01-01T00:00:00Z', 'seed'),

  ('anthropic', 'claude-opus-4-1', 15.00, 75.00, 1.50, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-opus-4-1-20250805', 15.00, 75.00, 1.50, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-opus-4-0', 15.00, 75.00, 1.50, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-opus-4-20250514', 15.00, 75.00, 1.50, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-sonnet-4-5', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-sonnet-4-5-20250929', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-sonnet-4-0', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-sonnet-4-20250514', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-3-7-sonnet-latest', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-3-7-sonnet-20250219', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-haiku-4-5', 1.00, 5.00, 0.10, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-haiku-4-5-20251001', 1.00, 5.00, 0.10, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-3-5-haiku-latest', 0.80, 4.00, 0.08, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-3-5-haiku-20241022', 0.80, 4.00, 0.08, '2020-01-01T00:00:00Z', 'seed'),
  ('anthropic', 'claude-3-haiku-20240307', 0.25, 1.25, 0.03, '2020-01-01T00:00:00Z', 'seed'),

  ('gemini', 'gemini-2.5-pro', 1.25, 10.00, 0.31, '2020-01-01T00:00:00Z', 'seed'),
  ('gemini', 'gemini-2.5-flash', 0.30, 2.50, 0.075, '2020-01-01T00:00:00Z', 'seed'),
  ('gemini', 'gemini-2.5-flash-lite', 0.10, 0.40, 0.025, '2020-01-01T00:00:00Z', 'seed'),
  ('gemini', 'gemini-2.0-flash', 0.10, 0.40, 0.025, '2020-01-01T00:00:00Z', 'seed'),
  ('gemini', 'gemini-2.0-flash-lite', 0.075, 0.30, NULL, '2020-01-01T00:00:00Z', 'seed'),
  ('gemini', 'gemini-1.5-pro', 1.25, 5.00, 0.3125, '2020-01-01T00:00:00Z', 'seed'),
  ('gemini', 'gemini-1.5-flash', 0.075, 0.30, 0.01875, '2020-01-01T00:00:00Z', 'seed'),
  ('gemini', 'text-embedding-004', 0, 0, NULL, '2020-01-01T00:00:00Z', 'seed'),

  ('openrouter', 'openai/gpt-5', 1.25, 10.00, 0.125, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'openai/gpt-4.1', 2.00, 8.00, 0.50, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'openai/gpt-4o', 2.50, 10.00, 1.25, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'openai/gpt-4o-mini', 0.15, 0.60, 0.075, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'anthropic/claude-opus-4.1', 15.00, 75.00, 1.50, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'anthropic/claude-sonnet-4.5', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'anthropic/claude-sonnet-4', 3.00, 15.00, 0.30, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'anthropic/claude-3.5-haiku', 0.80, 4.00, 0.08, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'google/gemini-2.5-pro', 1.25, 10.00, 0.31, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'google/gemini-2.5-flash', 0.30, 2.50, 0.075, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'meta-llama/llama-3.3-70b-instruct', 0.13, 0.40, NULL, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'meta-llama/llama-3.1-8b-instruct', 0.02, 0.03, NULL, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'deepseek/deepseek-chat', 0.27, 1.10, 0.07, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'deepseek/deepseek-r1', 0.55, 2.19, 0.14, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'mistralai/mistral-large', 2.00, 6.00, NULL, '2020-01-01T00:00:00Z', 'seed'),
  ('openrouter', 'x-ai/grok-4', 3.00, 15.00, 0.75, '2020-01-01T00:00:00Z', 'seed');

-- Plans and their default budgets (the seed's example for the Token Management screen: alert at
-- $50, stop at $100). A subscriber gets these as user budgets unless an explicit one is set.
INSERT INTO plans (id, name, description) VALUES
  ('free', 'Free', 'Small daily allowance for trying agents out'),
  ('team', 'Team', 'Daily and monthly limits for regular use'),
  ('enterprise', 'Enterprise', 'No default limits: budgets are set per user, team or globally');

INSERT INTO plan_budgets (plan_id, period, soft_usd, hard_usd) VALUES
  ('free', 'day', 1.00, 2.00),
  ('team', 'day', 50.00, 100.00),
  ('team', 'month', 500.00, 1000.00);
