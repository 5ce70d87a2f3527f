/**
 * The OpenAI-compatible gateway and reverse proxy (`/gw/{upstream}/…`). This is the folder's
 * public face; see README.md for what it guarantees.
 */
export {
  canonicalGatewayPath,
  httpRouteScope,
  openaiEndpoint,
  openaiScope,
  splitGatewayPath,
} from './endpoints.ts';
export { Gateway, type GatewayDeps } from './gateway.ts';
export { goDuration, HOP_BY_HOP_HEADERS, openaiRateLimitHeaders } from './headers.ts';
export { modelAllowed } from './models.ts';
export { openaiError } from './openai-errors.ts';
export { OPENAI_PRICES, OPENAI_PRICES_SOURCE } from './openai-prices.ts';
export { OpenAIStreamMeter, type TokenUsage, usageFromResponse } from './openai-usage.ts';
export {
  BUILT_IN_PRICES,
  cheapestReservation,
  costMicros,
  type Price,
  PriceTable,
} from './pricing.ts';
export { smallBudgetWarnings } from './refusals.ts';
export { type ResolvedUpstream, UpstreamRegistry } from './registry.ts';
export { estimatePromptTokens, maxOutputTokens, tokensForText } from './tokens.ts';
