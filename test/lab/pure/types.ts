// The lab's data: what a lab is asked to be (LabSpec), how it is laid out (LabPlan, derived
// purely from the spec and the lab's index) and what it has made (LabState, the state file).

export type HostKind = 'node' | 'client' | 'witness';

export interface LabSpec {
  /** '' is the default lab (namespaces named `node1`, `sw`...); otherwise namespaces are `NAME-node1`. */
  readonly name: string;
  readonly nodes: number;
  readonly client: boolean;
  readonly witness: boolean;
  readonly lans: number;
}

export interface HostPlan {
  /** Name used on the command line and in the API: `node1`, `client`, `witness`. */
  readonly name: string;
  readonly kind: HostKind;
  /** Network namespace name (the file under /run/netns). */
  readonly netns: string;
  /** Host byte of every LAN address (198.18.x.<hostByte>). */
  readonly hostByte: number;
  /** Small number unique inside the lab, used in MAC addresses. */
  readonly ordinal: number;
}

export interface LanPlan {
  readonly index: number;
  /** Bridge name inside the switch namespace. */
  readonly bridge: string;
  /** Network address, e.g. '198.18.3.0'. */
  readonly network: string;
  readonly prefixLen: number;
}

export interface LabPlan {
  readonly spec: LabSpec;
  /** State directory name under /run/hakit-lab: 'default' or the lab name. */
  readonly key: string;
  /** Lab index: 0 for the default lab; picks the subnets so that labs never overlap. */
  readonly index: number;
  readonly switchNetns: string;
  readonly hosts: readonly HostPlan[];
  readonly lans: readonly LanPlan[];
}

/** A partition rule: frames forwarded from `from`'s port to `to`'s port are dropped. */
export interface Cut {
  readonly from: string;
  readonly to: string;
  /** undefined: every LAN. */
  readonly lan: number | undefined;
}

/** Egress loss of a host on one LAN, in percent (integer 1..100). */
export interface Loss {
  readonly host: string;
  readonly lan: number;
  readonly pct: number;
}

/** A delay line running for a host's egress on one LAN. */
export interface Delay {
  readonly host: string;
  readonly lan: number;
  readonly delay_ms: number;
  /** pid of the delay line process, 0 while it is being started. */
  readonly pid: number;
}

export interface LabState {
  readonly version: 1;
  readonly plan: LabPlan;
  readonly created_at: string;
  /** 'making' while up runs; 'ready' once every host is set up. */
  readonly phase: 'making' | 'ready';
  /** Network namespaces (names) this lab asked to create, recorded before creation. */
  readonly netns: readonly string[];
  /** Mount namespace pin files recorded before creation. */
  readonly mountPins: readonly string[];
  /** True once the private bind mount of the pin directory was requested. */
  readonly pinDirMounted: boolean;
  /** Per-host data directory root, recorded before creation. */
  readonly dataDir: string | undefined;
  /** Mount IDs present in each host's mount view right after up: a power cut unmounts the others. */
  readonly baselineMounts: Readonly<Record<string, readonly number[]>>;
  readonly cuts: readonly Cut[];
  readonly losses: readonly Loss[];
  readonly delays: readonly Delay[];
  /** Hosts whose links are down after a power cut (absent in records made before it existed). */
  readonly poweredOff?: readonly string[];
  /**
   * Packaged lab: the staged package tree (test/lab/packaged.ts) whose /usr/lib/hakit every
   * host sees; hakitd and hakit-witness start from its unit files. Absent: not packaged.
   */
  readonly packagedRoot?: string;
  /**
   * Processes started for the lab in the machine's own namespaces (e.g. the demo's console
   * relay on 127.0.0.1), which a power cut of the hosts does not reach: `down` stops exactly
   * these pids, and only while their start time still matches (pids are reused).
   */
  readonly hostProcesses?: readonly HostProcess[];
}

export interface HostProcess {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat (start time in clock ticks since boot) when it was recorded. */
  readonly startTicks: string;
  readonly what: string;
}
