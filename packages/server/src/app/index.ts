export { type Keywarden, type OpenOptions, openKeywarden, openStore } from './keywarden.ts';
