/** A tool the project needs is not available; the message says how to get it. */
export class ToolMissingError extends Error {
  override name = "ToolMissingError";
}
