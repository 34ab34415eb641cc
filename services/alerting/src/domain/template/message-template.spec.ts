import { eventCatalog, metricCatalog, RULE_TEMPLATE_FIELDS } from '../event-types';
import { MessageTemplate, TemplateError } from './message-template';

const workflow = eventCatalog('workflow');

function rejection(src: string, catalog = workflow): TemplateError {
  try {
    MessageTemplate.compile(src, catalog, RULE_TEMPLATE_FIELDS);
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error(`expected ${src} to be rejected`);
}

describe('message templates', () => {
  it("renders the seed's templates with their formats", () => {
    const t = MessageTemplate.compile('❌ Workflow failed: {workflow_name} - {error}', workflow);
    expect(t.render({ workflow_name: 'release', error: 'boom' })).toBe('❌ Workflow failed: release - boom');
    expect(t.fields).toEqual(['workflow_name', 'error']);
    const m = metricCatalog('error_rate');
    expect(
      MessageTemplate.compile('⚠️ High error rate detected: {error_rate:.2%}', m).render({ error_rate: 0.0712 }),
    ).toBe('⚠️ High error rate detected: 7.12%');
    const cost = MessageTemplate.compile('💰 High cost alert: ${cost_today:.2f} today', metricCatalog('cost_today'));
    expect(cost.render({ cost_today: '123.456' })).toBe('💰 High cost alert: $123.46 today');
    // Decimal strings round exactly (100.005 is 100.00499... as a binary float).
    expect(cost.render({ cost_today: '100.005' })).toBe('💰 High cost alert: $100.01 today');
    expect(cost.render({ cost_today: '-0.004' })).toBe('💰 High cost alert: $0.00 today');
    expect(cost.render({ cost_today: '-2.5' })).toBe('💰 High cost alert: $-2.50 today');
    expect(cost.render({ cost_today: '99.999' })).toBe('💰 High cost alert: $100.00 today');
    expect(MessageTemplate.compile('{cost_today:.0f}', metricCatalog('cost_today')).render({ cost_today: '7.5' })).toBe(
      '8',
    );
    expect(MessageTemplate.compile('{value:d} of {samples}', m).render({ value: 4.6, samples: 10 })).toBe('5 of 10');
  });

  it('reads map fields, escapes braces and renders missing values as empty', () => {
    const t = MessageTemplate.compile('{{literal}} {outputs.summary} [{error}]', workflow);
    expect(t.render({ outputs: { summary: 'ok' } })).toBe('{literal} ok []');
    expect(
      MessageTemplate.compile('{entity} / {rule_name}', workflow, RULE_TEMPLATE_FIELDS).render({
        entity: 'e',
        rule_name: 'r',
      }),
    ).toBe('e / r');
  });

  it('rejects a field the data does not have, naming it, its position and the known fields', () => {
    const e = rejection('Workflow {workflow_name} failed for {usr}');
    expect(e.position).toBe(37);
    expect(e.reason).toMatch(/field 'usr' is not a field of workflow events/);
    expect(e.reason).toMatch(/user_id/);
    expect(rejection('{value}').reason).toMatch(/'value' is not a field/);
    expect(rejection('{workflow_name.x}').reason).toMatch(/is a string/);
  });

  it('rejects malformed templates', () => {
    expect(rejection('unclosed {error').reason).toMatch(/unclosed/);
    expect(rejection('stray } brace').position).toBe(6);
    expect(rejection('{}').reason).toMatch(/empty field name/);
    expect(rejection('{error:.2x}').reason).toMatch(/unsupported format/);
    expect(rejection('{1abc}').reason).toMatch(/not a field name/);
    expect(rejection('{outputs.__proto__}').reason).toMatch(/not allowed/);
    expect(rejection('{error!r}').reason).toMatch(/not a field name/);
    expect(rejection('x'.repeat(5000)).reason).toMatch(/longer than/);
  });
});
