export { OWNER_ID_PATTERN, OwnerService, type SetOwnerInput } from './service.ts';
