import { useTestDatabase } from '../testing/postgres.ts';
import { openPostgresStore } from './postgres.ts';
import { defineUsageSuite } from './usage.suite.ts';

const database = await useTestDatabase();
defineUsageSuite(`postgres (${database.collation})`, () => openPostgresStore(database.url));
