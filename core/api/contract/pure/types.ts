// The data the API serves, one casing (snake_case) throughout. Self-contained on purpose: the
// console imports this folder only, so nothing here imports the daemon's own types (a test,
// test/api/contract-compat.test.ts, checks that the daemon's values fit these).

export type ModuleMode = 'mirror' | 'farm' | 'light';
export const MODULE_STATES = ['STOP', 'WAIT', 'ALONE', 'PRIM', 'SECOND', 'UP'] as const;
export type ModuleState = (typeof MODULE_STATES)[number];
/** Approval: a mirror survivor with manual failover waits for `hakit failover approve` (not Ready). */
export const SUB_STATUSES = ['NotReady', 'Transient', 'Ready', 'Approval'] as const;
export type SubStatus = (typeof SUB_STATUSES)[number];

/** Operator commands on a module of one node (hakit start/stop/…; failover/boot take `on`). */
export const MODULE_COMMANDS = ['start', 'stop', 'restart', 'stopstart', 'prim', 'second', 'swap', 'primforce', 'failover', 'boot', 'approve', 'deny'] as const;
export type ModuleCommandKind = (typeof MODULE_COMMANDS)[number];

export interface CodedError {
  readonly code: string;
  readonly message: string;
}
/** Every 4xx/5xx answer's body. */
export interface ErrorBody {
  readonly error: CodedError;
}

export interface PeerView {
  readonly node: string;
  readonly reachable: boolean;
  readonly lans_up: readonly number[];
  readonly state: ModuleState | null;
  readonly status: SubStatus | null;
}

export interface FarmShare {
  /** "owned/256". */
  readonly share: string;
  readonly assigned: number;
  readonly members: readonly string[];
  /** Buckets the member table gives each member. */
  readonly counts: Readonly<Record<string, number>>;
  readonly default_owner: string;
  readonly waiting_for: readonly string[];
  readonly filter: 'loaded' | 'absent';
  readonly leaving: boolean;
  readonly error: CodedError | null;
  /** The buckets this node's filter owns now, as read back from the kernel (the bucket map); absent from older nodes. */
  readonly owned_buckets?: readonly number[];
}

/** One module on one node: what `hakit state -v` prints. */
export interface ModuleOnNode {
  readonly module: string;
  readonly node: string;
  readonly mode: ModuleMode;
  readonly state: ModuleState;
  readonly status: SubStatus;
  readonly epoch: number;
  readonly copy_complete: boolean;
  readonly failover: boolean;
  readonly boot: boolean;
  /** Whether the module's checkers run (`hakit checker on|off`); absent: the module has no monitor, or an older node. */
  readonly checkers?: boolean;
  /** Whether errd watches the module's processes (`hakit errd on|off`); absent as `checkers`. */
  readonly errd?: boolean;
  readonly peers: readonly PeerView[];
  readonly farm: FarmShare | null;
  readonly last_error: CodedError | null;
  /** Manual failover (docs/geo.md): present while the module waits for approval (WAIT/Approval). */
  readonly approval?: ApprovalWait;
}

export interface ApprovalWait {
  readonly waiting_ms: number;
  /** The timer approves in this long; null: no timer (or cancelled by deny). */
  readonly timer_left_ms: number | null;
  readonly denied: boolean;
}

export interface NotLoadedModule {
  readonly module: string;
  readonly reason: string;
}

/** One node's answer, or why it could not answer. */
export interface NodeState {
  readonly node: string;
  readonly reachable: boolean;
  readonly error: CodedError | null;
  readonly modules: readonly ModuleOnNode[];
  readonly not_loaded: readonly NotLoadedModule[];
}

export interface ClusterState {
  readonly api_version: number;
  /** The node that answered (and asked the others). */
  readonly answered_by: string;
  readonly at: string;
  readonly nodes: readonly NodeState[];
}

export interface ClusterNodeInfo {
  readonly name: string;
  readonly addresses: readonly { readonly lan: string; readonly addr: string }[];
}
export interface ClusterInfo {
  readonly api_version: number;
  readonly cluster: string;
  readonly answered_by: string;
  readonly nodes: readonly ClusterNodeInfo[];
}

// ---------------------------------------------------------------- resources and rules

export type ResourceState = 'init' | 'up' | 'down';
export interface ResourceTarget {
  readonly label: string;
  readonly state: ResourceState;
  readonly detail: string;
}
export interface Resource {
  readonly name: string;
  readonly class: string;
  readonly state: ResourceState;
  readonly since_ms_ago: number;
  readonly source: 'checker' | 'operator';
  readonly action: string;
  readonly rule: string | null;
  readonly active: boolean;
  readonly targets: readonly ResourceTarget[];
}
/** A resource's change, as the API remembered it (newest last; bounded). */
export interface ResourceChange {
  readonly at: string;
  readonly resource: string;
  readonly from: ResourceState | null;
  readonly to: ResourceState;
}
export interface ModuleResources {
  readonly module: string;
  readonly node: string;
  readonly errd: boolean;
  readonly checkers: boolean;
  readonly held: readonly string[];
  /** The failover rule applied last. */
  readonly last_rule: { readonly rule: string; readonly resource: string; readonly action: string; readonly ms_ago: number } | null;
  readonly resources: readonly Resource[];
  readonly history: readonly ResourceChange[];
}

// ---------------------------------------------------------------- replication

/** See ReplicationStatus.phase. */
export const REPLICATION_PHASES = ['reintegrating', 'in_sync', 'alone', 'receiving', 'none'] as const;
export type ReplicationPhaseName = (typeof REPLICATION_PHASES)[number];

export interface ReplicationStatus {
  readonly module: string;
  readonly node: string;
  readonly engine: 'prim' | 'second' | 'none';
  /** True when SECOND's copy is complete (re-integration done). null: unknown here. */
  readonly in_sync: boolean | null;
  readonly pending_bytes: number | null;
  readonly rate_bytes_per_s: number | null;
  readonly eta_s: number | null;
  /** PRIM, during a re-integration pass: bytes it has shipped so far (null outside a pass). */
  readonly shipped_bytes?: number | null;
  /** PRIM, during a pass: files with something still to ship or compare. */
  readonly pending_files?: number | null;
  /** PRIM, during a pass: 'journal' (dirty ranges only), 'activity' (the files its activity
   *  record names) or 'full' (block comparison). */
  readonly reintegration_mode?: string | null;
  /** The phase `hakit state -v` and `collect` name (core/mirror/pure/progress.ts): a PRIM
   *  re-integrating, in sync or ALONE; a SECOND in sync or still receiving its copy; no
   *  engine. Absent: an older node. */
  readonly phase?: ReplicationPhaseName;
  readonly bytes_applied: number | null;
  readonly ops_applied: number | null;
  /** The engine's last status event, as it reported it. */
  readonly last: unknown;
  /** The last rfsverify run on this node (kept across restarts); null: none yet; absent: an older node. */
  readonly last_verify?: VerifyRecordInfo | null;
  /** PRIM: how long the applications' sync calls have waited for the ALONE fence (docs/mirror.md); null: they do not wait; absent: an older node. */
  readonly fence_wait_ms?: number | null;
  /** PRIM: how long its journal has been emptied because its disk refused a record (a crash of this node now costs a full comparison); null: kept; absent: an older node. */
  readonly journal_emptied_ms?: number | null;
}

/** One rfsverify (`hakit rfsverify`, POST …/replication/verify) as its node keeps it. */
export interface VerifyRecordInfo {
  /** When it ended (ISO 8601). */
  readonly at: string;
  readonly duration_ms: number;
  readonly outcome: 'identical' | 'different' | 'failed';
  /** The PRIM's regular files compared by content hash, and their bytes (null: failed first, or not counted). */
  readonly files_compared: number | null;
  readonly bytes_compared: number | null;
  /** How many paths differ (null when it failed). */
  readonly differences: number | null;
  /** The first differing paths (at most 20; `hakit rfsdiff` lists all). */
  readonly first_differences: readonly { readonly path: string; readonly reason: string }[];
  readonly error: CodedError | null;
}

// ---------------------------------------------------------------- logs, commands, audit

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export interface LogLine {
  readonly time: string;
  readonly level: LogLevel;
  readonly node: string;
  readonly module: string | null;
  readonly msg: string;
  /** The line's other fields (script output, codes…). */
  readonly fields: Readonly<Record<string, unknown>>;
}
export interface LogPage {
  readonly node: string;
  readonly module: string | null;
  readonly lines: readonly LogLine[];
}

export interface ModuleCommandRequest {
  readonly kind: ModuleCommandKind;
  readonly on?: boolean;
}
export interface CommandOutcome {
  readonly node: string;
  readonly module: string;
  readonly command: ModuleCommandKind;
  readonly ok: boolean;
  readonly error: CodedError | null;
}

export interface AuditRecord {
  readonly at: string;
  readonly user: string;
  readonly role: string;
  /** "api 198.18.0.1", "cli root", "node node2 for admin"… */
  readonly from: string;
  readonly node: string;
  readonly action: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly ok: boolean;
  readonly error: CodedError | null;
}
export interface AuditPage {
  readonly node: string;
  readonly records: readonly AuditRecord[];
}

// ---------------------------------------------------------------- users, sessions, keys

export interface SessionInfo {
  readonly user: string;
  readonly role: 'admin' | 'control' | 'monitor';
  /** Send it back in the X-CSRF-Token header of every POST/PUT/DELETE made with the cookie. */
  readonly csrf_token: string;
  readonly idle_timeout_s: number;
}
export interface UserInfo {
  readonly name: string;
  readonly role: 'admin' | 'control' | 'monitor';
}
export interface ApiKeyInfo {
  readonly name: string;
  readonly role: 'admin' | 'control' | 'monitor';
  readonly created_at: string;
}
export interface ApiKeyCreated extends ApiKeyInfo {
  /** Shown once: the server keeps only its hash. Send as `Authorization: Bearer TOKEN`. */
  readonly token: string;
}
