export {
  httpStatusFor,
  type RejectionCode,
  VERIFY_CODES,
  type VerifyCode,
  wwwAuthenticateFor,
} from './codes.ts';
export { CreditsWriteBackLoop } from './credits-write-back.ts';
export { KnownKeyFilter } from './known-keys.ts';
export { LastUsedRecorder } from './last-used.ts';
export {
  effectiveKeyRules,
  keySubject,
  limitRequestFor,
  ownerSubject,
  rulesOfUnit,
} from './limits.ts';
export {
  networkOf,
  storedKeyHashes,
  UnknownKeyGuard,
  type UnknownKeyGuardOptions,
} from './unknown-key-guard.ts';
export { Verifier, type VerifierDeps, type VerifyRequest, type VerifyResult } from './verifier.ts';
