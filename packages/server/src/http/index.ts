export { buildHttpApp, type ManagementRoute } from './app.ts';
