import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiError, CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { DeleteBudgetCommand, DeleteBudgetUseCase } from '../usecases/delete-budget/delete-budget.usecase';
import { ListBudgetsCommand, ListBudgetsUseCase } from '../usecases/list-budgets/list-budgets.usecase';
import { SetBudgetCommand, SetBudgetUseCase } from '../usecases/set-budget/set-budget.usecase';
import { actor, readsAll } from './access';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Budgets: admins set and delete them; everyone reads the ones that apply to them. */
@Controller('v1/budgets')
export class BudgetsController {
  constructor(
    private readonly listBudgets: ListBudgetsUseCase,
    private readonly setBudget: SetBudgetUseCase,
    private readonly deleteBudget: DeleteBudgetUseCase,
  ) {}

  @Get()
  list(@Query() command: ListBudgetsCommand, @CurrentIdentity() identity: Identity) {
    if (!readsAll(identity)) {
      if (
        (command.scope === 'user' || command.scope === undefined) &&
        command.scopeId &&
        command.scopeId !== identity.subject
      )
        throw ApiError.forbidden('you can only read the budgets that apply to you', 'forbidden_user');
      command.appliesTo = { userId: identity.subject, teamId: identity.teamId ?? '' };
    }
    return this.listBudgets.execute(command);
  }

  @RequireRoles('admin')
  @Put()
  set(@Body() command: SetBudgetCommand, @CurrentIdentity() identity: Identity) {
    command.setBy = actor(identity);
    return this.setBudget.execute(command);
  }

  @RequireRoles('admin')
  @Delete(':id')
  @HttpCode(200)
  deleteById(@Param('id') id: string) {
    if (!UUID.test(id)) throw ApiError.badRequest('id', 'is not a budget id');
    return this.deleteBudget.execute({ id });
  }

  @RequireRoles('admin')
  @Delete()
  @HttpCode(200)
  deleteByKey(@Query() command: DeleteBudgetCommand) {
    return this.deleteBudget.execute(command);
  }
}
