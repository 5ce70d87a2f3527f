export {
  type CreatedKey,
  type CreateKeyInput,
  DEFAULT_PROJECT,
  KeyService,
  MANAGEMENT_PROJECT,
  storedCredits,
  type UpdateKeyInput,
} from './service.ts';
export {
  type CreditsInput,
  parseTimestamp,
  validateCredits,
  validateRatelimits,
} from './validate.ts';
