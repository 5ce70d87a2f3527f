export {
  type CreatedKey,
  type CreateKeyInput,
  DEFAULT_PROJECT,
  KeyService,
  MANAGEMENT_PROJECT,
  type UpdateKeyInput,
} from './service.ts';
export { parseTimestamp } from './validate.ts';
