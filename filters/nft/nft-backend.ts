// The real FilterBackend: drives `nft` (and reads/sets one sysctl) in the node's namespace.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { HakitError } from '../../core/errors/catalogue';
import { listOwnedArgs, renderFilterScript, renderOwnedUpdate, renderRemoveScript } from '../pure/render';
import { ownedDifference, parseOwnedSet } from '../pure/readback';
import type { ValidFarmFilter } from '../pure/types';
import type { FilterApplyReport, FilterBackend } from './backend';
import { spawnRunner, type CommandRunner } from './command';

/**
 * With loose tracking off, conntrack never picks up a TCP flow mid-stream, so a node that
 * receives another node's established flow cannot adopt it. The rules already drop non-SYN
 * packets that would start a flow; this is the second lock, restored on the last remove().
 */
export const TCP_LOOSE_SYSCTL = 'net.netfilter.nf_conntrack_tcp_loose';
/** First lines of nft's complaint carried in the coded error. */
const NFT_ERROR_MAX_LINES = 6;

export interface NftBackendOptions {
  readonly run?: CommandRunner;
  /** Set TCP_LOOSE_SYSCTL to 0 while a filter is loaded (default true). */
  readonly tcp_loose_off?: boolean;
  /**
   * Where the value found before is kept (the run directory: a tmpfs, cleared at boot like the
   * sysctl), so that a daemon started after one that died with the filter loaded restores the
   * administrator's value, not the 0 it inherited. Absent: kept in memory only.
   */
  readonly tcp_loose_saved_file?: string;
}

function firstLines(text: string): string {
  return text.trim().split('\n').slice(0, NFT_ERROR_MAX_LINES).join(' | ');
}

export class NftFilterBackend implements FilterBackend {
  private readonly run: CommandRunner;
  private readonly tcpLooseOff: boolean;
  private readonly loaded = new Set<string>();
  private savedTcpLoose: string | undefined;
  private readonly tcpLooseSavedFile: string | undefined;

  constructor(options: NftBackendOptions = {}) {
    this.run = options.run ?? spawnRunner();
    this.tcpLooseOff = options.tcp_loose_off ?? true;
    this.tcpLooseSavedFile = options.tcp_loose_saved_file;
  }

  async load(filter: ValidFarmFilter, owned: readonly number[]): Promise<FilterApplyReport> {
    const where = `module ${filter.module}`;
    const script = renderFilterScript(filter, owned); // throws on bad buckets before any I/O
    const link = await this.run(['ip', '-o', 'link', 'show', 'dev', filter.interface]);
    if (link.code !== 0) {
      throw new HakitError('HAKIT_E_FILTER_NO_INTERFACE', `interface ${filter.interface} of VIPs ${filter.vips.join(', ')} does not exist on this node`, where);
    }
    const report = await this.transact(filter, script, owned, 'load');
    this.loaded.add(filter.module);
    await this.lockTcpLoose();
    return report;
  }

  async setOwned(filter: ValidFarmFilter, owned: readonly number[]): Promise<FilterApplyReport> {
    return this.transact(filter, renderOwnedUpdate(filter, owned), owned, 'update');
  }

  async readOwned(filter: ValidFarmFilter): Promise<number[] | undefined> {
    const listed = await this.run(['nft', ...listOwnedArgs(filter)]);
    if (listed.code !== 0) return undefined;
    return parseOwnedSet(listed.stdout, `module ${filter.module}`);
  }

  async remove(module: string): Promise<void> {
    const res = await this.run(['nft', '-f', '-'], renderRemoveScript(module));
    if (res.code !== 0) throw new HakitError('HAKIT_E_FILTER_NFT_FAILED', `removing the tables failed: ${firstLines(res.stderr)}`, `module ${module}`);
    this.loaded.delete(module);
    if (this.loaded.size === 0) await this.restoreTcpLoose();
  }

  private async transact(filter: ValidFarmFilter, script: string, owned: readonly number[], what: string): Promise<FilterApplyReport> {
    const where = `module ${filter.module}`;
    const started = performance.now();
    const res = await this.run(['nft', '-f', '-'], script);
    const transaction_ms = performance.now() - started;
    if (res.code !== 0) {
      if (what === 'update' && /No such file or directory/.test(res.stderr)) {
        throw new HakitError('HAKIT_E_FILTER_NOT_LOADED', `no table ip ${filter.table}: load the filter first`, where);
      }
      throw new HakitError('HAKIT_E_FILTER_NFT_FAILED', `nft ${what} failed, previous ruleset kept: ${firstLines(res.stderr)}`, where);
    }
    const actual = await this.readOwned(filter);
    if (!actual) throw new HakitError('HAKIT_E_FILTER_READBACK', `table ip ${filter.table} vanished right after the ${what}`, where);
    const diff = ownedDifference([...owned].sort((a, b) => a - b), actual);
    if (diff) throw new HakitError('HAKIT_E_FILTER_READBACK', `after the ${what}: ${diff}`, where);
    return { owned: actual, transaction_ms, elapsed_ms: performance.now() - started };
  }

  private async lockTcpLoose(): Promise<void> {
    if (!this.tcpLooseOff || this.savedTcpLoose !== undefined) return;
    // The sysctl exists once conntrack is active in the namespace, i.e. after our ct rules load.
    const current = await this.run(['sysctl', '-n', TCP_LOOSE_SYSCTL]);
    if (current.code !== 0) return;
    const value = current.stdout.trim();
    if (value === '0') {
      // 0 already: the administrator's, or left by a daemon that died with a filter loaded,
      // which then saved the value to put back.
      this.savedTcpLoose = this.readSavedTcpLoose();
      return;
    }
    this.writeSavedTcpLoose(value);
    const set = await this.run(['sysctl', '-qw', `${TCP_LOOSE_SYSCTL}=0`]);
    if (set.code === 0) this.savedTcpLoose = value;
    else this.forgetSavedTcpLoose();
  }

  private async restoreTcpLoose(): Promise<void> {
    if (this.savedTcpLoose === undefined) return;
    const res = await this.run(['sysctl', '-qw', `${TCP_LOOSE_SYSCTL}=${this.savedTcpLoose}`]);
    if (res.code === 0) {
      this.savedTcpLoose = undefined;
      this.forgetSavedTcpLoose();
    }
  }

  private readSavedTcpLoose(): string | undefined {
    const f = this.tcpLooseSavedFile;
    if (f === undefined) return undefined;
    try {
      const v = fs.readFileSync(f, 'utf8').trim();
      return /^[0-9]{1,3}$/.test(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  private writeSavedTcpLoose(value: string): void {
    if (this.tcpLooseSavedFile === undefined) return;
    try {
      fs.writeFileSync(this.tcpLooseSavedFile, `${value}\n`, { mode: 0o600 });
    } catch {
      // Kept in memory still: only a crash before the restore would lose it.
    }
  }

  private forgetSavedTcpLoose(): void {
    if (this.tcpLooseSavedFile !== undefined) fs.rmSync(this.tcpLooseSavedFile, { force: true });
  }
}
