// A file says one thing: an attribute given twice (sax kept the first silently) and a second
// root element (the parse returned only the second document) are refused with
// HAKIT_E_CONF_XML and the line of the offending start tag (review finding).
import { parseXml, duplicateAttribute } from '../../../core/config/xml/parse-xml';
import { parseClusterText } from '../../../core/config/load';
import { CLUSTER_XML, issuesOf, mirrorXml } from './fixtures';

function issue(text: string) {
  const r = parseXml(text, 'u.xml');
  return 'issue' in r ? r.issue : null;
}

describe('userconfig.xml', () => {
  test('duplicate attributes are refused at their line', () => {
    const xml = mirrorXml('', 'nodes="node1 node2" nodes="node2 node1"');
    expect(issuesOf(xml)).toEqual([{ code: 'HAKIT_E_CONF_XML', where: 'userconfig.xml:2', message: 'attribute "nodes" given twice in <service>' }]);
  });

  test('a second root element is refused at its line', () => {
    const first = mirrorXml('', 'nodes="node1 node2"');
    const second = mirrorXml('', 'nodes="node2 node3"');
    const issues = issuesOf(`${first}${second}`);
    expect(issues).toEqual([{ code: 'HAKIT_E_CONF_XML', where: `userconfig.xml:${first.split('\n').length}`, message: 'a second root element <safe> (a file holds one root element)' }]);
  });

  test('the same file without the duplicate loads', () => {
    expect(issuesOf(mirrorXml())).toEqual([]);
  });
});

describe('cluster.xml', () => {
  test('duplicate attributes are refused at their line', () => {
    const text = CLUSTER_XML.replace('<node name="node2" addr="198.18.0.12"/>', '<node name="node2" addr="198.18.0.12" addr="198.18.0.99"/>');
    const r = parseClusterText(text, 'cluster.xml', '/etc/hakit');
    expect(r.ok ? [] : r.errors).toEqual([{ code: 'HAKIT_E_CONF_XML', where: 'cluster.xml:4', message: 'attribute "addr" given twice in <node>' }]);
  });

  test('a second <cluster> root is refused at its line', () => {
    const text = `${CLUSTER_XML}${CLUSTER_XML.replace('name="lab"', 'name="other"')}`;
    const r = parseClusterText(text, 'cluster.xml', '/etc/hakit');
    expect(r.ok ? [] : r.errors).toEqual([{ code: 'HAKIT_E_CONF_XML', where: `cluster.xml:${CLUSTER_XML.split('\n').length}`, message: 'a second root element <cluster> (a file holds one root element)' }]);
  });
});

describe('parseXml', () => {
  test.each([
    ['a single-quoted duplicate', `<safe a='1' b="2" a='3'/>`, 'a'],
    ['a duplicate across lines', '<safe\n  a="1"\n  a="2"/>', 'a'],
  ])('%s is refused', (_what, text, name) => {
    expect(issue(text)).toEqual({ code: 'HAKIT_E_CONF_XML', where: 'u.xml:1', message: `attribute "${name}" given twice in <safe>` });
  });

  test('an attribute-like text inside a value is not an attribute', () => {
    expect(duplicateAttribute(`<m a='x a="y"' b="a='z'">`)).toBeNull();
    expect(issue(`<safe a='x a="y"' b="> a='z'"/>`)).toBeNull();
  });

  test('comments, a declaration and whitespace around the one root are fine', () => {
    expect(issue('<?xml version="1.0"?>\n<!-- a --><safe a="1"><x a="1"/><x a="2"/></safe>\n<!-- b -->\n')).toBeNull();
  });

  test('a second root on the same line is found too', () => {
    expect(issue('<safe/><safe/>')).toEqual({ code: 'HAKIT_E_CONF_XML', where: 'u.xml:1', message: 'a second root element <safe> (a file holds one root element)' });
  });
});
