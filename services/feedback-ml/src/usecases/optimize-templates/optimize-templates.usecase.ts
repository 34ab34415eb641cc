import { Inject, Injectable } from '@nestjs/common';
import { parseSections, type OutputSchema } from '@hishamos/catalog';
import { SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import type { CommandCatalog } from '../../catalog/command-catalog';
import type { FeedbackMlSettings } from '../../config/feedback-ml.settings';
import { QualityRepository } from '../../repositories/quality.repository';
import { SuggestionRepository, type Suggestion, type SuggestionRow } from '../../repositories/suggestion.repository';
import { hasCode, hasExamples } from '../../scoring/features';
import { COMMAND_CATALOG } from '../score-execution/score-execution.usecase';

interface Scored {
  output: string;
  total: number;
  issues: string[];
}

const share = (items: Scored[], test: (s: Scored) => boolean) =>
  items.length === 0 ? 0 : items.filter(test).length / items.length;
const pct = (n: number) => `${Math.round(n * 100)}%`;
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

/**
 * Compares what high-scoring (>= 8) and low-scoring (< 6) outputs of a command contain — sections,
 * code, examples, length, the issues people tagged — and proposes template changes. Pure analysis.
 */
export function analyse(high: Scored[], low: Scored[], schema?: OutputSchema): Suggestion[] {
  const out: Suggestion[] = [];
  if (schema) {
    for (const [key, section] of Object.entries(schema.properties)) {
      const has = (s: Scored) => (parseSections(s.output, schema)[key] ?? '').trim().length > 0;
      const h = share(high, has);
      const l = share(low, has);
      if (h >= 0.7 && l <= 0.4)
        out.push({
          kind: 'add_section',
          detail: `Insist on the "${section.title}" section and say what it must contain: ${section.description}`,
          evidence: `present in ${pct(h)} of high-scoring outputs and ${pct(l)} of low-scoring ones`,
        });
    }
  }
  const extraHeadings = new Map<string, { high: number; low: number }>();
  const known = new Set(Object.values(schema?.properties ?? {}).map((s) => s.title.toLowerCase()));
  for (const [group, items] of [
    ['high', high],
    ['low', low],
  ] as const) {
    for (const s of items) {
      const seen = new Set(
        [...s.output.matchAll(/^##\s+(.+)$/gm)].map((m) => m[1].trim().toLowerCase()).filter((t) => !known.has(t)),
      );
      for (const t of seen) {
        const c = extraHeadings.get(t) ?? { high: 0, low: 0 };
        c[group]++;
        extraHeadings.set(t, c);
      }
    }
  }
  for (const [title, c] of extraHeadings) {
    const h = c.high / Math.max(1, high.length);
    const l = c.low / Math.max(1, low.length);
    if (h >= 0.6 && l <= 0.2)
      out.push({
        kind: 'add_section',
        detail: `Add a "${title}" section to the requested structure`,
        evidence: `high-scoring outputs add it on their own (${pct(h)} vs ${pct(l)})`,
      });
  }
  const codeH = share(high, (s) => hasCode(s.output));
  const codeL = share(low, (s) => hasCode(s.output));
  if (codeH >= 0.6 && codeL <= 0.3)
    out.push({
      kind: 'require_code',
      detail: 'Ask for complete code in fenced blocks rather than prose descriptions',
      evidence: `code in ${pct(codeH)} of high-scoring outputs and ${pct(codeL)} of low-scoring ones`,
    });
  const exH = share(high, (s) => hasExamples(s.output));
  const exL = share(low, (s) => hasExamples(s.output));
  if (exH >= 0.6 && exL <= 0.3)
    out.push({
      kind: 'require_examples',
      detail: 'Ask for at least one concrete example',
      evidence: `examples in ${pct(exH)} of high-scoring outputs and ${pct(exL)} of low-scoring ones`,
    });
  const avg = (items: Scored[]) => items.reduce((n, s) => n + words(s.output), 0) / Math.max(1, items.length);
  const wH = avg(high);
  const wL = avg(low);
  if (wL > 0 && wH >= 1.5 * wL)
    out.push({
      kind: 'more_depth',
      detail: `Ask for more depth: high-scoring answers run about ${Math.round(wH)} words`,
      evidence: `${Math.round(wH)} words on average when high-scoring, ${Math.round(wL)} when low-scoring`,
    });
  const tags = new Map<string, number>();
  for (const s of low) for (const t of s.issues) tags.set(t, (tags.get(t) ?? 0) + 1);
  for (const [tag, n] of [...tags.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)) {
    if (n >= 2)
      out.push({
        kind: 'address_issue',
        detail: `Add an instruction that prevents "${tag}"`,
        evidence: `tagged "${tag}" by raters on ${n} low-scoring outputs`,
      });
  }
  return out;
}

/** The template with the suggestions appended as instructions (braces escaped as the format requires). */
export function proposeTemplate(template: string, suggestions: Suggestion[]): string {
  if (suggestions.length === 0) return template;
  const lines = suggestions.map((s) => `- ${s.detail.replace(/\{/g, '{{').replace(/\}/g, '}}')}`);
  return `${template.trimEnd()}\n\nAlso (learned from rated results):\n${lines.join('\n')}\n`;
}

/** The seed's TemplateOptimizer over every command with enough scored executions. */
@Injectable()
export class OptimizeTemplatesUseCase {
  private readonly settings: FeedbackMlSettings;

  constructor(
    @Inject(SERVICE_CONTEXT) ctx: ServiceContext,
    private readonly quality: QualityRepository,
    private readonly suggestions: SuggestionRepository,
    @Inject(COMMAND_CATALOG) private readonly catalog: CommandCatalog,
  ) {
    this.settings = settingsOf<FeedbackMlSettings>(ctx);
  }

  async execute(): Promise<SuggestionRow[]> {
    const min = this.settings.OPTIMIZER_MIN_EXECUTIONS;
    const minEach = Math.max(3, Math.floor(min / 4));
    const created: SuggestionRow[] = [];
    for (const { agent, command, n } of await this.quality.commandsWithExecutions(min)) {
      const scored = await this.quality.scoredExecutions(agent, command, 200);
      const high = scored.filter((s) => s.total >= 8);
      const low = scored.filter((s) => s.total < 6);
      if (high.length < minEach || low.length < minEach) continue;
      const info = this.catalog.get(agent, command);
      const found = analyse(high, low, info?.outputSchema);
      if (found.length === 0) continue;
      created.push(
        await this.suggestions.upsertOpen({
          agent,
          command,
          executions: n,
          high_count: high.length,
          low_count: low.length,
          suggestions: found,
          proposed_template: proposeTemplate(info?.template ?? '', found),
        }),
      );
    }
    return created;
  }
}
