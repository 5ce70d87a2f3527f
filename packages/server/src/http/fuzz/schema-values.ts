import fc from 'fast-check';

/**
 * Valid values from a route's JSON schema (the one Fastify validates with and /openapi.json
 * serves), so that most inputs pass validation and reach the services behind it; the mutations
 * in `mutations.ts` then break them. Covers the subset our schemas use: object, array, string
 * (length, pattern, enum, date-time), integer, number, boolean, null, anyOf/oneOf, const, {}.
 */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
};

/** Values a property of this name should often take so the request reaches real state. */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

const MAX_STRING = 40;
const MAX_ITEMS = 4;

function stringValue(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  if (schema.format === 'date-time')
    return fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? MAX_STRING, MAX_STRING));
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ minLength, maxLength, unit: 'grapheme' }) },
  );
}

function numberValue(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? schema.exclusiveMinimum ?? -1e6;
  const max = schema.maximum ?? schema.exclusiveMaximum ?? 1e6;
  const value = fc.double({
    min,
    max,
    noNaN: true,
    noDefaultInfinity: true,
    minExcluded: schema.exclusiveMinimum !== undefined,
    maxExcluded: schema.exclusiveMaximum !== undefined,
  });
  const small = fc.integer({
    min: Math.ceil(min),
    max: Math.max(Math.ceil(min), Math.min(max, 100)),
  });
  if (integer)
    return fc.oneof(
      small,
      value.map((n) => Math.min(max, Math.max(min, Math.round(n)))),
    );
  // Money fields take at most 6 decimals: mostly give round amounts.
  return fc.oneof(
    small,
    value.map((n) => Math.round(n * 100) / 100).filter((n) => n > min),
  );
}

export function valueFor(
  schema: JsonSchema,
  hints: Hints = {},
  name?: string,
): fc.Arbitrary<unknown> {
  const hint = name === undefined ? undefined : hints[name];
  const plain = plainValueFor(schema, hints);
  return hint ? fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: plain }) : plain;
}

function plainValueFor(schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices) return fc.oneof(...choices.map((s) => plainValueFor(s, hints)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringValue(schema);
    case 'integer':
      return numberValue(schema, true);
    case 'number':
      return numberValue(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schema.items ? plainValueFor(schema.items, hints) : fc.jsonValue(), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(
          schema.minItems ?? 0,
          Math.min(schema.maxItems ?? MAX_ITEMS, MAX_ITEMS),
        ),
      });
    case 'object':
      return objectValue(schema, hints);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectValue(schema: JsonSchema, hints: Hints): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const names = Object.keys(properties);
  const extra =
    typeof schema.additionalProperties === 'object'
      ? fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }),
          plainValueFor(schema.additionalProperties, hints),
          {
            maxKeys: 3,
          },
        )
      : fc.constant({});
  if (names.length === 0) return extra;
  const record = fc.record(
    Object.fromEntries(names.map((n) => [n, valueFor(properties[n] ?? {}, hints, n)])),
    { requiredKeys: schema.required ?? [] },
  );
  return fc.tuple(record, extra).map(([known, more]) => ({ ...more, ...known }));
}
