import { Inject, Injectable, Optional } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import { commitHooksOf } from '@hishamos/messaging';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { SECRET_STORE, type SecretStorePort } from '../ports/gateway-ports';
import { ProviderRouter } from '../providers/provider-router';

/**
 * SecretRotated -> the cached key of that path is dropped (SECRET_STORE) and the providers using it
 * are rebuilt with the new key on their next call. The one SecretRotated consumer of the gateway.
 */
@Injectable()
export class SecretRotatedConsumer {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly router: ProviderRouter,
    @Optional() @Inject(SECRET_STORE) private readonly secrets?: SecretStorePort,
  ) {}

  async subscribe(): Promise<void> {
    await this.ctx.subscribe(Topics.SecretRotated, async (event, { tx }) => {
      const path = event.payload.path;
      const drop = () => {
        this.secrets?.invalidate(path);
        this.router.secretRotated(path);
      };
      drop();
      // Again once committed, in case a read raced the first drop.
      commitHooksOf(tx)?.onCommit(drop);
    });
  }
}
