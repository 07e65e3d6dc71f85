// Man pages for the Debian package, made from the commands' own commander help so that they
// never disagree with the programs: hakit(1) with every command and subcommand, hakitd(8),
// hakit-witness(8). Run by installers/deb/build.sh with the bundled runtime on the staged JS:
//   node manpages.js STAGED_DIST_DIR MAN_DIR VERSION
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

/** The part of commander's Command these pages use. */
interface HelpCommand {
  name(): string;
  helpInformation(): string;
  readonly commands: readonly HelpCommand[];
}

interface Page {
  readonly name: string;
  readonly section: 1 | 8;
  readonly summary: string;
  readonly help: string;
  readonly subcommands: readonly { readonly title: string; readonly help: string }[];
  readonly files: readonly string[];
}

/** roff-safe preformatted text: backslashes escaped, lines starting with . or ' protected. */
function escapeRoff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

/** hakitd's --node default is the build host's name: say what it means instead. */
function neutral(help: string): string {
  return help.split(`(default: "${os.hostname()}")`).join("(default: this host's name)");
}

function render(p: Page, version: string): string {
  const pre = (text: string): string[] => ['.nf', escapeRoff(neutral(text).trimEnd()), '.fi'];
  const lines = [`.TH ${p.name.toUpperCase()} ${p.section} "" "hakit ${version}" "hakit"`, '.SH NAME', `${p.name} \\- ${p.summary}`, '.SH SYNOPSIS AND OPTIONS', ...pre(p.help)];
  if (p.subcommands.length > 0) lines.push('.SH COMMANDS');
  for (const s of p.subcommands) lines.push(`.SS ${s.title}`, ...pre(s.help));
  lines.push('.SH FILES', ...pre(p.files.join('\n')), '.SH SEE ALSO', 'hakit(1), hakitd(8), hakit-witness(8), /usr/share/doc/hakit/install.md', '');
  return lines.join('\n');
}

function subcommands(cmd: HelpCommand, prefix: string): { title: string; help: string }[] {
  const out: { title: string; help: string }[] = [];
  for (const c of cmd.commands) {
    const title = `${prefix} ${c.name()}`;
    out.push({ title, help: c.helpInformation() }, ...subcommands(c, title));
  }
  return out;
}

function helpOf(entry: string): string {
  const r = spawnSync(process.execPath, [entry, '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${entry} --help exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const COMMON_FILES = [
  '/etc/hakit/cluster.xml        cluster configuration (and the cluster key it names)',
  '/var/lib/hakit/modules/       installed modules',
  '/var/log/hakit/hakitd.log     daemon log; modules/NAME.log per module',
  '/run/hakit/                   control socket',
];

async function main(argv: readonly string[]): Promise<void> {
  const [dist, man, version] = argv;
  if (!dist || !man || !version) throw new Error('usage: manpages.js STAGED_DIST_DIR MAN_DIR VERSION');
  // The staged CLI itself, so the page documents exactly what is shipped.
  const cli = (await import(pathToFileURL(path.resolve(dist, 'core/cli/main.js')).href)) as { buildProgram(): HelpCommand };
  const program = cli.buildProgram();
  const pages: Page[] = [
    { name: 'hakit', section: 1, summary: 'high availability for Linux applications: the command line', help: program.helpInformation(), subcommands: subcommands(program, 'hakit'), files: COMMON_FILES },
    {
      name: 'hakitd',
      section: 8,
      summary: 'the hakit node daemon',
      help: helpOf(path.resolve(dist, 'core/daemon/main.js')),
      subcommands: [],
      files: [...COMMON_FILES, '/lib/systemd/system/hakitd.service   its unit; options in /etc/default/hakit (HAKITD_OPTS)'],
    },
    {
      name: 'hakit-witness',
      section: 8,
      summary: 'the hakit split-brain witness',
      help: helpOf(path.resolve(dist, 'core/witness/main.js')),
      subcommands: [],
      files: [
        '/etc/default/hakit-witness    HAKIT_WITNESS_ADDRESS, HAKIT_WITNESS_KEY_FILE, HAKIT_WITNESS_OPTS',
        '/var/lib/hakit-witness/       epochs, lease holders, replay floors',
        '/var/log/hakit-witness/       its log',
        '/lib/systemd/system/hakit-witness.service',
      ],
    },
  ];
  for (const p of pages) {
    const dir = path.join(man, `man${p.section}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${p.name}.${p.section}.gz`), zlib.gzipSync(render(p, version), { level: 9 }));
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`manpages: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
