import { Module } from '@nestjs/common';
import { EdgeController } from './edge.controller';
import { EdgeProxy } from './edge-proxy';

/** The edge: other services' public /v1 routes, forwarded (see edge-routes.ts). Needs IDENTITY_SETTINGS (global). */
@Module({ controllers: [EdgeController], providers: [EdgeProxy] })
export class EdgeModule {}
