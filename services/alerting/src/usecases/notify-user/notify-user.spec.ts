import { notificationFor } from './notify-user.usecase';

describe('which events notify which user', () => {
  it('workflow outcomes notify the user who started the run', () => {
    expect(
      notificationFor('workflow', { kind: 'FAILED', user_id: 'u1', workflow_name: 'w', error: 'boom', run_id: 'r' }),
    ).toEqual({
      userId: 'u1',
      type: 'error',
      title: 'Workflow w failed',
      message: 'boom',
      link: '/v1/runs/r',
    });
    expect(notificationFor('workflow', { kind: 'COMPLETED', user_id: 'u1', workflow_name: 'w' })?.type).toBe('success');
    expect(notificationFor('workflow', { kind: 'CANCELLED', user_id: 'u1' })?.type).toBe('warning');
    expect(
      notificationFor('workflow', { kind: 'STEP_WAITING_APPROVAL', user_id: 'u1', step_id: 's2' })?.message,
    ).toMatch(/s2/);
    expect(notificationFor('workflow', { kind: 'STEP_STARTED', user_id: 'u1' })).toBeUndefined();
    expect(notificationFor('workflow', { kind: 'FAILED', user_id: '' })).toBeUndefined();
  });

  it('user budgets notify their user; team and global budgets do not', () => {
    const soft = notificationFor('budget', {
      scope: 'USER',
      scope_id: 'u2',
      threshold: 'SOFT',
      period: 'DAY',
      spend_usd: '8',
      limit_usd: '10',
    });
    expect(soft).toMatchObject({
      userId: 'u2',
      type: 'warning',
      message: 'You have spent $8 of your day budget of $10.',
    });
    expect(notificationFor('budget', { scope: 'USER', scope_id: 'u2', threshold: 'HARD' })?.type).toBe('error');
    expect(notificationFor('budget', { scope: 'TEAM', scope_id: 't1', threshold: 'HARD' })).toBeUndefined();
    expect(notificationFor('quality', { user_id: 'u1' })).toBeUndefined();
  });
});
