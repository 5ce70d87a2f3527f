import {
  type ColumnDefinitionNode,
  type DataTypeNode,
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
  sql,
  type UnknownRow,
} from 'kysely';

/**
 * On PostgreSQL, every `text` column that a migration creates or adds is `text COLLATE "C"`:
 * compared and ordered byte by byte, as SQLite's default BINARY collation does. Without it a
 * column takes the database's collation (often en_US.UTF-8 or ICU), where `'B' < 'a'` is
 * false and punctuation may be ignored, so `orderBy('id')`, `where('id', '>', cursor)` and
 * `orderBy('name')` would page differently on the two backends. Equality is unaffected (both
 * are deterministic), and C comparisons are also the cheapest.
 *
 * A plugin on the migrator's connection rather than a branch in each migration, so that
 * every migration, including ones still to be written, gets it without remembering to.
 */
class ByteOrderTextTransformer extends OperationNodeTransformer {
  protected override transformColumnDefinition(
    node: ColumnDefinitionNode,
    queryId?: QueryId,
  ): ColumnDefinitionNode {
    const column = super.transformColumnDefinition(node, queryId);
    if (column.dataType.kind !== 'DataTypeNode') return column;
    if ((column.dataType as DataTypeNode).dataType !== 'text') return column;
    return { ...column, dataType: sql`text collate "C"`.toOperationNode() };
  }
}

export class ByteOrderTextPlugin implements KyselyPlugin {
  readonly #transformer = new ByteOrderTextTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node, args.queryId);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
