import { type Kysely, sql } from 'kysely';
import { newId } from '../../ids/index.ts';
import type { Dialect } from './index.ts';

/** Projects, keys and the audit chain; the default and management projects. */
export function initialMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull().unique())
        .addColumn('environments', 'text', (c) => c.notNull())
        .addColumn('allow_query_key', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('pepper_version', 'integer', (c) => c.notNull())
        .addColumn('display', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text')
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('expires_at', bigint)
        .addColumn('allowed_ips', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('last_used_at', bigint)
        .addColumn('last_used_ip', 'text')
        .addColumn('rotated_from_id', 'text')
        .addColumn('revoked_at', bigint)
        .execute();
      await db.schema
        .createIndex('keys_project_idx')
        .on('keys')
        .columns(['project_id', 'id'])
        .execute();
      await db.schema
        .createIndex('keys_owner_idx')
        .on('keys')
        .columns(['owner_id', 'id'])
        .execute();

      await db.schema
        .createTable('audit')
        .addColumn('seq', bigint, (c) => c.primaryKey())
        .addColumn('at', bigint, (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('actor_display', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_target_idx').on('audit').columns(['target_id']).execute();
      await db.schema.createIndex('audit_at_idx').on('audit').columns(['at']).execute();

      const now = Date.now();
      for (const project of [
        { name: 'default', prefix: 'kw', environments: ['dev', 'staging', 'prod'] },
        { name: '_management', prefix: 'kwadmin', environments: ['mgmt'] },
      ]) {
        await sql`insert into projects (id, name, prefix, environments, allow_query_key, created_at, updated_at)
          values (${newId('prj', now)}, ${project.name}, ${project.prefix},
                  ${JSON.stringify(project.environments)}, 0, ${now}, ${now})`.execute(db);
      }
    },
  };
}
