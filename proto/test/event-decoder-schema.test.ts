// The hand decoder (src/event-decoder.ts) must know every field of AccessEvent and of each
// message under it, with the type the .proto declares: one it does not know would send
// every record carrying it to protobufjs (correct, but the speed is gone), and one whose
// type changed under the same wire type would be read wrongly. This walks the schema by
// protobufjs reflection and compares it with HANDLED_FIELDS.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { HANDLED_FIELDS } from '../src/event-decoder.js';
import { accessEventTree } from './fixtures/schema.js';

/** A field's type in HANDLED_FIELDS' notation; oneof members (proto3 `optional` too) and maps are spelled out so they never match. */
function declared(field: protobuf.Field): string {
  const t = field.resolvedType;
  let type = t instanceof protobuf.Enum ? 'enum' : t instanceof protobuf.Type ? t.name : field.type;
  if (field instanceof protobuf.MapField) type = `map<${field.keyType}, ${type}>`;
  if (field.partOf) type = `oneof ${field.partOf.name} ${type}`;
  return field.repeated ? `repeated ${type}` : type;
}

describe('the hand decoder covers the schema', () => {
  const tree = accessEventTree();

  it('every message under AccessEvent, and no other', () => {
    expect(Object.keys(HANDLED_FIELDS).sort()).toEqual([...tree.keys()].sort());
  });

  it.each([...tree.keys()])('every field of %s, with its declared type', (name) => {
    const fields = Object.fromEntries(tree.get(name)!.type.fieldsArray.map((f) => [f.id, declared(f)]));
    expect(HANDLED_FIELDS[name]).toEqual(fields);
  });
});
