import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { Public } from '@hishamos/platform';
import type { FastifyRequest } from 'fastify';
import { LoginCommand, LoginUseCase, type LoginResult } from '../usecases/login/login.usecase';

/** Console sign-in. */
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly login: LoginUseCase) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  signIn(@Body() body: LoginCommand, @Req() req: FastifyRequest): Promise<LoginResult> {
    const ua = req.headers['user-agent'];
    return this.login.execute(body, { ip: req.ip, userAgent: ua?.slice(0, 500) });
  }
}
