export {
  httpStatusFor,
  type RejectionCode,
  VERIFY_CODES,
  type VerifyCode,
  wwwAuthenticateFor,
} from './codes.ts';
export { LastUsedRecorder } from './last-used.ts';
export { Verifier, type VerifierDeps, type VerifyRequest, type VerifyResult } from './verifier.ts';
