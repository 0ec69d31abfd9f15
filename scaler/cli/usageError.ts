/** Bad flags, arguments, configuration or input: reported with exit code 2 and nothing done. */
export class UsageError extends Error {
  override name = "UsageError";
}
