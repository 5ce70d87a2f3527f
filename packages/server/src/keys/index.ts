export { type InTransaction, type MintedKey, mintKey } from './mint.ts';
export {
  type BulkFilter,
  MAX_BULK_KEYS,
  MAX_GRACE_SECONDS,
  type RotatedKey,
  RotationService,
  rotationDueAt,
  rotationRuleFor,
} from './rotation.ts';
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
  type BudgetInput,
  budgetRulesFrom,
  budgetsToInput,
  type CreditsInput,
  MODEL_PATTERN,
  moneyMicros,
  parseTimestamp,
  validateCredits,
  validateModels,
  validateRatelimits,
} from './validate.ts';
