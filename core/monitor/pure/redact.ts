// What a support snapshot leaves out or masks. Snapshots leave the customer's site, so the
// rule is: when in doubt, leave it out.

/** Names of files that hold secrets: never put in a snapshot. */
export const SECRET_FILE_NAME = /(key|secret|passw|token|credential|\.pem$|\.crt$|\.p12$|\.pfx$|\.jks$|^id_(rsa|dsa|ecdsa|ed25519)|^\.env|^\.netrc$|\.kdbx$)/i;

export function isSecretFileName(base_name: string): boolean {
  return SECRET_FILE_NAME.test(base_name);
}

/** userconfig.xml with every `<var value="…">` masked: vendors pass passwords to their
 * scripts through these variables. */
export function redactUserconfig(xml: string): string {
  return xml.replace(/(<var\b[^>]*?\bvalue\s*=\s*)(["'])([\s\S]*?)\2/g, (_m, head: string, quote: string) => `${head}${quote}***${quote}`);
}
