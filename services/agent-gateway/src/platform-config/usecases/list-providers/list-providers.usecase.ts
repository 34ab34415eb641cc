import { Injectable } from '@nestjs/common';
import { ApiError } from '@hishamos/platform';
import { ProviderConfigRepository } from '../../provider-config.repository';
import { providerView, type ProviderView } from '../../provider-view';

/** The configured providers, in fallback order (no keys: whether one is set and its last four characters). */
@Injectable()
export class ListProvidersUseCase {
  constructor(private readonly providers: ProviderConfigRepository) {}

  async execute(): Promise<ProviderView[]> {
    return (await this.providers.list()).map(providerView);
  }

  async one(id: string): Promise<ProviderView> {
    const row = await this.providers.get(id);
    if (!row) throw ApiError.notFound('provider', id);
    return providerView(row);
  }
}
