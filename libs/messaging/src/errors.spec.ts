import { connectionErrorKind, NonRetryableError } from './errors';
import { serviceOfGroup } from './event-bus';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('connectionErrorKind', () => {
  it.each([
    ['admin shutdown', coded('terminating connection due to administrator command', '57P01')],
    ['crash shutdown', coded('terminating connection because of crash of another server process', '57P02')],
    ['cannot connect now', coded('the database system is starting up', '57P03')],
    ['too many connections', coded('sorry, too many clients already', '53300')],
    ['class 08', coded('connection failure', '08006')],
    ['class 08, no message', coded('', '08001')],
    ['pg-pool', new Error('Connection terminated unexpectedly')],
    ['pg-pool timeout', new Error('timeout exceeded when trying to connect')],
    ['shutting down, no code', new Error('the database system is shutting down')],
    ['PGlite', new Error('PGlite is closed')],
    ['PGlite pool', new Error('PGlite pool has been closed')],
    ['TypeORM driverError', Object.assign(new Error('Query failed'), { driverError: coded('x', '57P01') })],
    ['a cause', new Error('wrapped', { cause: new Error('Connection terminated due to connection timeout') })],
  ])('a database that cannot serve: %s', (_name, error) => {
    expect(connectionErrorKind(error)).toBe('database');
  });

  it.each([
    ['ECONNREFUSED', coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['ECONNRESET', coded('read ECONNRESET', 'ECONNRESET')],
    ['ETIMEDOUT', coded('connect ETIMEDOUT', 'ETIMEDOUT')],
    ['EPIPE', coded('write EPIPE', 'EPIPE')],
    ['AggregateError', Object.assign(new AggregateError([coded('a', 'ECONNREFUSED')], 'x'), { code: 'ECONNREFUSED' })],
    ['fetch failed', new TypeError('fetch failed', { cause: coded('connect ECONNREFUSED', 'ECONNREFUSED') })],
  ])('a socket-level failure: %s', (_name, error) => {
    expect(connectionErrorKind(error)).toBe('socket');
  });

  it.each([
    ['a plain error', new Error('cannot handle poison')],
    ['a unique violation', coded('duplicate key value violates unique constraint', '23505')],
    ['a syntax error', coded('syntax error at or near', '42601')],
    ['a serialization failure', coded('could not serialize access', '40001')],
    ['bad input', new NonRetryableError('unknown agent')],
    ['not an error', 'connection terminated'],
    ['null', null],
  ])('a failing handler: %s', (_name, error) => {
    expect(connectionErrorKind(error)).toBe('none');
  });

  it('survives cyclic causes', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(connectionErrorKind(a)).toBe('none');
  });
});

describe('serviceOfGroup', () => {
  it.each([
    ['hishamos.alerting.hishamos.workflows.progressed.v1', 'alerting'],
    ['e2e-1a2b.hishamos.usage-metering.hishamos.usage.recorded.v1', 'usage-metering'],
    ['t12345678.hishamos.alerting.secret-cache.host-1', 'alerting'],
    ['hishamos.agent-gateway.hishamos.executions.requested.v1', 'agent-gateway'],
  ])('%s -> %s', (group, service) => {
    expect(serviceOfGroup(group)).toBe(service);
  });

  it('knows no service in a group of its own', () => {
    expect(serviceOfGroup('dlq-reader-1')).toBeUndefined();
    expect(serviceOfGroup('hishamos.unknown.x')).toBeUndefined();
  });
});
