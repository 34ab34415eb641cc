import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentIdentity, type Identity } from '@hishamos/platform';
import type { RequestActor } from '../identity.types';
import { Actor } from '../request-actor.decorator';
import { ChangePasswordCommand, ChangePasswordUseCase } from '../usecases/change-password/change-password.usecase';
import { GetMeUseCase, type MeView } from '../usecases/get-me/get-me.usecase';

/** The caller's own account. */
@Controller('v1/me')
export class MeController {
  constructor(
    private readonly getMe: GetMeUseCase,
    private readonly changePassword: ChangePasswordUseCase,
  ) {}

  @Get()
  me(@CurrentIdentity() identity: Identity): Promise<MeView> {
    return this.getMe.execute(identity);
  }

  @Post('password')
  @HttpCode(200)
  password(@Body() body: ChangePasswordCommand, @Actor() actor: RequestActor): Promise<{ changed: true }> {
    return this.changePassword.execute(body, actor);
  }
}
