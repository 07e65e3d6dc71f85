import { isSecretFileName, redactUserconfig } from '../../../core/monitor/pure/redact';

test('every <var> value is masked, the rest of userconfig.xml is kept', () => {
  const xml = `<user><var name="DB_PASSWORD" value="s3cr&quot;t"/>\n<var value='x y' name="A"/><var\n  name="B"\n  value="multi"/></user><macro name="M" value="kept"/>`;
  expect(redactUserconfig(xml)).toBe(`<user><var name="DB_PASSWORD" value="***"/>\n<var value='***' name="A"/><var\n  name="B"\n  value="***"/></user><macro name="M" value="kept"/>`);
});

test.each(['cluster.key', 'server.pem', 'id_ed25519', '.env', '.netrc', 'db_password.txt', 'aws_credentials', 'store.p12'])('%s is a secret file', (n) => {
  expect(isSecretFileName(n)).toBe(true);
});

test.each(['userconfig.xml', 'mirror_http.log', 'hakitd.log', 'state.json'])('%s is not a secret file', (n) => {
  expect(isSecretFileName(n)).toBe(false);
});
