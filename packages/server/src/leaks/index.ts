export { GITHUB_KEYS_URL, GithubKeyring, type GithubKeyringOptions } from './github-keyring.ts';
export { GITHUB_ACTOR, type LeakReport, LeakService, type LeakVerdict } from './service.ts';
