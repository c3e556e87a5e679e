import { Injectable } from '@nestjs/common';
import { DomainError, NotFoundError } from '#src/common/errors.js';
import type { ResourceOwnership, ResourceType } from './access-policy.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ResourceLocator {
  /** Who owns the resource with this id (already a UUID), or null when there is none. */
  locate(id: string): Promise<ResourceOwnership | null>;
  /** The module's own "not found" error (TASK_NOT_FOUND, …): a denied resource answers as a missing one. */
  notFound(): DomainError;
}

/**
 * Each module that owns a kind of resource registers how to find its owner, so the access guard
 * never reads another module's tables.
 */
@Injectable()
export class ResourceLocators {
  private readonly locators = new Map<ResourceType, ResourceLocator>();

  register(type: ResourceType, locator: ResourceLocator): void {
    this.locators.set(type, locator);
  }

  /** The resource's ownership, or the module's not-found error (a malformed id included). */
  async locate(type: ResourceType, id: string): Promise<ResourceOwnership> {
    const locator = this.locator(type);
    const found = UUID.test(id) ? await locator.locate(id) : null;
    if (!found) throw locator.notFound();
    return found;
  }

  notFound(type: ResourceType): DomainError {
    return this.locators.get(type)?.notFound() ?? new NotFoundError();
  }

  private locator(type: ResourceType): ResourceLocator {
    const locator = this.locators.get(type);
    if (!locator) throw new Error(`no resource locator registered for "${type}"`);
    return locator;
  }
}

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
