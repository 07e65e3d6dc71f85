// Codes of the module state machine: operator refusals (the command changed nothing) and
// the machine's own alarms.
export const MODULE_STATE_CODES = {
  HAKIT_E_MODULE_BUSY: 'the module is running scripts; only stop is accepted now',
  HAKIT_E_MODULE_ALREADY_STARTED: 'the module is already started',
  HAKIT_E_MODULE_ALREADY_STOPPED: 'the module is already stopped',
  HAKIT_E_MODULE_NOT_RUNNING: 'the command needs a module that serves (ALONE, PRIM, SECOND or UP)',
  HAKIT_E_MODULE_NOT_WAITING: 'the command needs the module in WAIT',
  HAKIT_E_PEER_SERVING: 'the peer runs the application: this node cannot become primary',
  HAKIT_E_PEER_NOT_PRIMARY: 'the peer is not primary: this node cannot become secondary',
  HAKIT_E_COPY_INCOMPLETE: 'this node does not know its copy is complete (use primforce to override)',
  HAKIT_E_SWAP_NOT_READY: 'swap needs a PRIM and a SECOND in sync',
  HAKIT_E_NOT_MIRROR: 'the command applies to mirror modules only',
  HAKIT_E_SPLIT_BRAIN: 'both nodes served the module at once',
  HAKIT_E_STOP_SCRIPT_FAILED: 'a stop script failed twice (the second time with force)',
  HAKIT_E_START_SCRIPT_FAILED: 'a start script failed',
  HAKIT_E_MAXLOOP: 'more automatic restarts than maxloop within loop_interval: the module stops',
  HAKIT_E_WITNESS_LEASE_LOST: 'the witness lease could not be renewed: the application stops',
  HAKIT_E_BAD_TRANSITION: 'the state machine attempted a transition its table does not have',
} as const satisfies Record<string, string>;
