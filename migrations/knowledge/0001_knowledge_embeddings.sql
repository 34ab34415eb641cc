-- The gateway's knowledge base: documents and their chunks with 1536-dimension embeddings (pgvector,
-- as in the seed). A database of its own: the gateway's PGlite in embedded mode, else
-- KNOWLEDGE_DATABASE_URL (Postgres with pgvector) or a PGlite data directory (KNOWLEDGE_DATA_DIR).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS knowledge_documents (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  title TEXT NOT NULL,
  -- Where it came from (a URL, a path, a ticket id): cited with the chunks in prompts.
  source TEXT,
  content_type TEXT NOT NULL CHECK (content_type IN ('text/plain', 'text/markdown')),
  metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
  content_hash TEXT NOT NULL,
  chars INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  -- The embedder that produced its chunks' vectors (vectors of different embedders are not comparable).
  embedder TEXT NOT NULL,
  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The seed's table (id, content, embedding vector(1536), metadata, created_at) plus its document and position.
CREATE TABLE IF NOT EXISTS knowledge_embeddings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  content TEXT,
  embedding vector(1536),
  metadata JSONB,
  created_at TIMESTAMPTZ DEFAULT now()
);
ALTER TABLE knowledge_embeddings ADD COLUMN IF NOT EXISTS document_id UUID;
ALTER TABLE knowledge_embeddings ADD COLUMN IF NOT EXISTS chunk_index INTEGER;
ALTER TABLE knowledge_embeddings ADD COLUMN IF NOT EXISTS embedder TEXT;
-- A database that ran the old gateway migration has the seed's bare table, never written to: tighten it.
DELETE FROM knowledge_embeddings WHERE document_id IS NULL;
ALTER TABLE knowledge_embeddings
  ALTER COLUMN content SET NOT NULL,
  ALTER COLUMN embedding SET NOT NULL,
  ALTER COLUMN metadata SET NOT NULL,
  ALTER COLUMN metadata SET DEFAULT '{}'::jsonb,
  ALTER COLUMN document_id SET NOT NULL,
  ALTER COLUMN chunk_index SET NOT NULL,
  ALTER COLUMN embedder SET NOT NULL;
ALTER TABLE knowledge_embeddings
  ADD CONSTRAINT knowledge_embeddings_document_fk FOREIGN KEY (document_id) REFERENCES knowledge_documents (id) ON DELETE CASCADE;

CREATE INDEX IF NOT EXISTS knowledge_embeddings_document ON knowledge_embeddings (document_id, chunk_index);
-- Approximate nearest neighbours by cosine distance (parameters measured in bench/knowledge).
CREATE INDEX IF NOT EXISTS knowledge_embeddings_hnsw ON knowledge_embeddings
  USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
-- Metadata filters (`metadata @> '{"team": "payments"}'`).
CREATE INDEX IF NOT EXISTS knowledge_embeddings_metadata ON knowledge_embeddings USING gin (metadata jsonb_path_ops);
CREATE INDEX IF NOT EXISTS knowledge_documents_created ON knowledge_documents (created_at DESC, id DESC);
