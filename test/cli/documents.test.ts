import { describe, expect, it } from '@jest/globals';
import { parseDocuments, type DocNote } from '../../src/cli/documents.js';

const parse = (name: string, text: string): { docs: unknown[]; wheres: string[]; notes: DocNote[] } => {
  const notes: DocNote[] = [];
  const out = parseDocuments(name, text, notes);
  return { docs: out.map((d) => d.value), wheres: out.map((d) => d.where), notes };
};

describe('parseDocuments', () => {
  it('reads JSON with JSON.parse whatever the file is called', () => {
    expect(parse('x.yaml', '  {"kind": "List", "items": []}\n')).toEqual({ docs: [{ kind: 'List', items: [] }], wheres: ['x.yaml'], notes: [] });
    expect(parse('x.json', '[1, 2]')).toMatchObject({ docs: [[1, 2]] });
  });

  it('splits YAML at document markers and numbers each document by its first content line', () => {
    const text = '# head\n---\na: 1\n--- {b: 2}\n---\n# c\n\nc: "---"\n...\n---\n';
    expect(parse('m.yaml', text)).toEqual({ docs: [{ a: 1 }, { b: 2 }, { c: '---' }], wheres: ['m.yaml:3', 'm.yaml:4', 'm.yaml:8'], notes: [] });
  });

  it('a broken document costs itself, reported at its line', () => {
    const r = parse('b.yaml', 'a: 1\n---\nb: [unclosed\n---\nc: 3\n');
    expect(r.docs).toEqual([{ a: 1 }, { c: 3 }]);
    expect(r.notes).toEqual([{ where: expect.stringMatching(/^b\.yaml:[34]$/), message: expect.stringMatching(/^not valid YAML; document skipped: /) }]);
  });

  it('uses the YAML 1.2 core schema: no timestamps, later duplicate keys win', () => {
    expect(parse('t.yaml', 'ts: 2026-01-01T00:00:00Z\nk: 1\nk: 2\non: yes\n').docs).toEqual([{ ts: '2026-01-01T00:00:00Z', k: 2, on: 'yes' }]);
  });

  it('a .json file that does not parse is reported as JSON', () => {
    expect(parse('bad.json', '{"a":').notes).toEqual([{ where: 'bad.json', message: expect.stringMatching(/^not valid JSON: /) }]);
  });
});
