// Codes of the network-namespace lab (test/lab): the test harness every lab test runs on.
export const LAB_CODES = {
  HAKIT_E_LAB_EXISTS: 'a lab with this name already exists',
  HAKIT_E_LAB_NONE: 'no lab with this name exists',
  HAKIT_E_LAB_BAD_SPEC: 'the lab size or name is not acceptable',
  HAKIT_E_LAB_UNKNOWN_HOST: 'the host is not part of the lab',
  HAKIT_E_LAB_BAD_LAN: 'the LAN is not part of the lab',
  HAKIT_E_LAB_COMMAND: 'a system command the lab ran failed',
  HAKIT_E_LAB_STATE: 'the lab state file cannot be read or is damaged',
  HAKIT_E_LAB_FULL: 'every lab index (subnet block) is taken',
  HAKIT_E_LAB_LOCK: 'the lab lock could not be taken in time',
  HAKIT_E_LAB_KILL: 'processes of a host were still alive after the power cut wait',
  HAKIT_E_LAB_DELAY: 'the delay line could not be built or started',
  HAKIT_E_LAB_NAMESPACE_TAKEN: 'a namespace the lab needs exists already but was not made by this lab',
} as const satisfies Record<string, string>;
