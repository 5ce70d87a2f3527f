import Ajv, { type ErrorObject, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import { jsonTextFault, TEXT_KINDS, type TextKind, textFault } from '../redaction/index.ts';

/**
 * Two Ajv instances: bodies are validated strictly (no type coercion, no silently
 * removed fields: `"5"` is not a number and an unknown field is a 400), while query
 * strings and path parameters, which are text on the wire, are coerced.
 *
 * `x-keywarden-text` says what a text field is (redaction/text-policy.ts): `identifier`,
 * `name` or `text` on a string, `json` on a free-form value (every key a name, every string
 * text). The schema states it once per field; the error names the field.
 */
const common: Options = {
  allErrors: false,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  allowUnionTypes: true,
};

export const TEXT_KEYWORD = 'x-keywarden-text';
type TextSchema = TextKind | 'json';

function textError(instancePath: string, message: string): ErrorObject {
  return { keyword: TEXT_KEYWORD, instancePath, schemaPath: '', params: {}, message };
}

function checkText(
  this: unknown,
  kind: TextSchema,
  data: unknown,
  _parent?: unknown,
  cxt?: { instancePath: string },
): boolean {
  const at = cxt?.instancePath ?? '';
  if (kind === 'json') {
    const fault = jsonTextFault(data);
    if (!fault) return true;
    checkText.errors = [textError(at + fault.pointer, fault.message)];
    return false;
  }
  if (typeof data !== 'string') return true;
  const message = textFault(data, kind);
  if (message === null) return true;
  checkText.errors = [textError(at, message)];
  return false;
}
checkText.errors = [] as ErrorObject[];

function makeAjv(coerceTypes: Options['coerceTypes']) {
  const ajv = new Ajv.default({ ...common, coerceTypes });
  addFormats.default(ajv, ['date-time', 'uri']);
  ajv.addKeyword('x-keywarden-secret');
  ajv.addKeyword({
    keyword: TEXT_KEYWORD,
    metaSchema: { enum: [...TEXT_KINDS, 'json'] },
    errors: true,
    validate: checkText,
  });
  return ajv;
}

const strict = makeAjv(false);
const coercing = makeAjv('array');

export function compileValidator({ schema, httpPart }: { schema: object; httpPart?: string }) {
  const ajv = httpPart === 'body' ? strict : coercing;
  return ajv.compile(schema);
}
