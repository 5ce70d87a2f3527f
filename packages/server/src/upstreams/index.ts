export {
  type DialUpstream,
  type ResolveHost,
  systemResolveHost,
  UpstreamHostRefusedError,
} from './connector.ts';
export { UpstreamHostGuard, type UpstreamNetwork } from './host-guard.ts';
export { type HostRefusal, type HostVerdict, REFUSAL_TEXT } from './host-policy.ts';
export {
  type CreateUpstreamInput,
  type ResolvedUpstream,
  type UpdateUpstreamInput,
  UpstreamService,
} from './service.ts';
export {
  DEFAULT_AUTH_HEADER,
  DEFAULT_AUTH_SCHEME,
  DEFAULT_TIMEOUTS,
  MAX_ROUTES,
  type PriceInput,
  ROUTE_METHODS,
  UPSTREAM_NAME_PATTERN,
  UPSTREAM_TYPES,
} from './validate.ts';
