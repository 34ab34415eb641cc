import { Body, Controller, Delete, Get, Param, Patch, Put, Post, Query } from '@nestjs/common';
import { RequireRoles } from '@hishamos/platform';
import type { Page, RequestActor, UserView } from '../identity.types';
import { Actor } from '../request-actor.decorator';
import { CreateUserCommand, CreateUserUseCase } from '../usecases/create-user/create-user.usecase';
import { DeleteUserUseCase } from '../usecases/delete-user/delete-user.usecase';
import { GetAgentAccessUseCase, type AgentAccessView } from '../usecases/get-agent-access/get-agent-access.usecase';
import { GetUserUseCase } from '../usecases/get-user/get-user.usecase';
import { ListUsersQuery, ListUsersUseCase } from '../usecases/list-users/list-users.usecase';
import { SetAgentAccessCommand, SetAgentAccessUseCase } from '../usecases/set-agent-access/set-agent-access.usecase';
import { SetUserRolesCommand, SetUserRolesUseCase } from '../usecases/set-user-roles/set-user-roles.usecase';
import { UpdateUserCommand, UpdateUserUseCase } from '../usecases/update-user/update-user.usecase';

/** Users, their roles and agent toggles (the seed's User Permissions screen): admins only. */
@RequireRoles('admin')
@Controller('v1/users')
export class UsersController {
  constructor(
    private readonly createUser: CreateUserUseCase,
    private readonly listUsers: ListUsersUseCase,
    private readonly getUser: GetUserUseCase,
    private readonly updateUser: UpdateUserUseCase,
    private readonly deleteUser: DeleteUserUseCase,
    private readonly setRoles: SetUserRolesUseCase,
    private readonly getAgents: GetAgentAccessUseCase,
    private readonly setAgents: SetAgentAccessUseCase,
  ) {}

  @Post()
  create(@Body() body: CreateUserCommand, @Actor() actor: RequestActor): Promise<UserView> {
    return this.createUser.execute(body, actor);
  }

  @Get()
  list(@Query() query: ListUsersQuery): Promise<Page<UserView>> {
    return this.listUsers.execute(query);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<UserView> {
    return this.getUser.execute(id);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: UpdateUserCommand, @Actor() actor: RequestActor): Promise<UserView> {
    return this.updateUser.execute(id, body, actor);
  }

  @Delete(':id')
  remove(@Param('id') id: string, @Actor() actor: RequestActor): Promise<UserView> {
    return this.deleteUser.execute(id, actor);
  }

  @Get(':id/roles')
  async roles(@Param('id') id: string): Promise<{ userId: string; roles: string[] }> {
    const user = await this.getUser.execute(id);
    return { userId: user.id, roles: user.roles };
  }

  @Put(':id/roles')
  putRoles(
    @Param('id') id: string,
    @Body() body: SetUserRolesCommand,
    @Actor() actor: RequestActor,
  ): Promise<UserView> {
    return this.setRoles.execute(id, body, actor);
  }

  @Get(':id/agents')
  agents(@Param('id') id: string): Promise<AgentAccessView> {
    return this.getAgents.execute(id);
  }

  @Put(':id/agents')
  putAgents(
    @Param('id') id: string,
    @Body() body: SetAgentAccessCommand,
    @Actor() actor: RequestActor,
  ): Promise<AgentAccessView> {
    return this.setAgents.execute(id, body, actor);
  }
}
