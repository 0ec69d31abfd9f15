/** Exit codes of every command, so scripts can tell failures apart. */
export const ExitCode = {
  ok: 0,
  /** The command ran and failed (an API error, a failed update). */
  failure: 1,
  /** Bad flags, arguments, configuration or input files: nothing was done. */
  usage: 2,
  /** A tool the command needs (pulumi, kube-apiserver, go) is missing; the message says how to get it. */
  toolMissing: 3,
  /** The VPSie API refused or failed the request; its message is printed. */
  apiError: 4,
} as const;
