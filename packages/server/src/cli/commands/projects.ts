import type { Command } from 'commander';
import { type ClientOptions, callApi } from '../client.ts';
import { output, printRecord, printTable } from '../output.ts';
import { withClientOptions } from './keys.ts';

type Common = ClientOptions & { json?: boolean };
type ProjectJson = Record<string, unknown> & { id: string };

export function registerProjects(program: Command): void {
  const projects = program.command('projects').description('projects (calls the management API)');

  withClientOptions(projects.command('create').description('create a project'))
    .requiredOption('--name <name>', 'project name, [a-z0-9-]')
    .requiredOption('--prefix <prefix>', 'key prefix, [a-z][a-z0-9]{1,11}')
    .option('--environments <envs...>', 'environments (default: dev staging prod)')
    .option('--allow-query-key', 'accept keys in the api_key query parameter')
    .action(
      async (
        o: Common & {
          name: string;
          prefix: string;
          environments?: string[];
          allowQueryKey?: boolean;
        },
      ) => {
        const project = await callApi<ProjectJson>(o, 'POST', '/v1/projects', {
          name: o.name,
          prefix: o.prefix,
          environments: o.environments?.flatMap((e) => e.split(',')).filter(Boolean),
          allowQueryKey: o.allowQueryKey,
        });
        output(project, o, () => printRecord(project));
      },
    );

  withClientOptions(projects.command('list').description('list projects')).action(
    async (o: Common) => {
      const page = await callApi<{ data: ProjectJson[] }>(o, 'GET', '/v1/projects');
      output(page, o, () =>
        printTable(page.data, ['id', 'name', 'prefix', 'environments', 'allowQueryKey']),
      );
    },
  );

  withClientOptions(
    projects.command('show <project>').description('show a project (id or name)'),
  ).action(async (ref: string, o: Common) => {
    const project = await callApi<ProjectJson>(o, 'GET', `/v1/projects/${encodeURIComponent(ref)}`);
    output(project, o, () => printRecord(project));
  });

  withClientOptions(projects.command('update <project>').description('change a project'))
    .option('--name <name>', 'new name')
    .option('--environments <envs...>', 'replace the environments')
    .option('--allow-query-key <bool>', 'true or false')
    .action(
      async (
        ref: string,
        o: Common & { name?: string; environments?: string[]; allowQueryKey?: string },
      ) => {
        const project = await callApi<ProjectJson>(
          o,
          'PATCH',
          `/v1/projects/${encodeURIComponent(ref)}`,
          {
            name: o.name,
            environments: o.environments?.flatMap((e) => e.split(',')).filter(Boolean),
            allowQueryKey: o.allowQueryKey === undefined ? undefined : o.allowQueryKey === 'true',
          },
        );
        output(project, o, () => printRecord(project));
      },
    );

  withClientOptions(
    projects.command('delete <project>').description('delete an empty project'),
  ).action(async (ref: string, o: Common) => {
    await callApi(o, 'DELETE', `/v1/projects/${encodeURIComponent(ref)}`);
    output({ project: ref, deleted: true }, o, () => process.stdout.write(`${ref} deleted\n`));
  });
}
