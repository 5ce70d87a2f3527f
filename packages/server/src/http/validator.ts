import Ajv, { type Options } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Two Ajv instances: bodies are validated strictly (no type coercion, no silently
 * removed fields: `"5"` is not a number and an unknown field is a 400), while query
 * strings and path parameters, which are text on the wire, are coerced.
 */
const common: Options = {
  allErrors: false,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  allowUnionTypes: true,
};

function makeAjv(coerceTypes: Options['coerceTypes']) {
  const ajv = new Ajv.default({ ...common, coerceTypes });
  addFormats.default(ajv, ['date-time', 'uri']);
  ajv.addKeyword('x-keywarden-secret');
  return ajv;
}

const strict = makeAjv(false);
const coercing = makeAjv('array');

export function compileValidator({ schema, httpPart }: { schema: object; httpPart?: string }) {
  const ajv = httpPart === 'body' ? strict : coercing;
  return ajv.compile(schema);
}
