/** An agent's answer: its named sections when parsed, else the raw text. */
export function OutputView({ output, sections }: { output?: string | null; sections?: Record<string, string> | null }) {
  const named = sections ? Object.entries(sections).filter(([, v]) => v && v.trim()) : [];
  if (named.length) {
    return (
      <div className="output">
        {named.map(([name, text]) => (
          <section key={name} className="output-section">
            <h4>{name.replace(/_/g, ' ')}</h4>
            <pre>{text}</pre>
          </section>
        ))}
      </div>
    );
  }
  if (!output) return <p className="muted">No output.</p>;
  return (
    <div className="output">
      <pre>{output}</pre>
    </div>
  );
}
