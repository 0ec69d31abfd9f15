/** The part of every command's --help after its options: examples, the environment it reads, its exit codes. */
export function helpText(help: { examples: string[]; environment?: string[]; exitCodes?: string[] }): string {
  const section = (title: string, lines: string[] | undefined, prefix = "  ") =>
    lines?.length ? `\n${title}:\n${lines.map((l) => `${prefix}${l}`).join("\n")}\n` : "";
  return [
    section("Examples", help.examples, "  $ "),
    section("Environment", help.environment),
    section(
      "Exit codes",
      help.exitCodes ?? ["0 success", "1 failure", "2 bad usage or configuration (nothing was done)"],
    ),
  ].join("");
}
