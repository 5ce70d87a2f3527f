export { decryptSecret, encryptSecret } from './encryption.ts';
export { type KeyHash, KeyHasher } from './key-hasher.ts';
export {
  decodeSecret,
  type LoadSecretsOptions,
  loadSecrets,
  parsePepperList,
  type ServerSecrets,
} from './secrets.ts';
