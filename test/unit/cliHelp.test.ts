import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { devCommands } from "../../dev/cli/index.js";
import { buildProgram } from "../../scaler/cli/main.js";

/** Every command that does something (the leaves of the command tree), with its full name. */
function leaves(command: Command, prefix = ""): Array<[string, Command]> {
  const name = `${prefix}${command.name()}`;
  if (command.commands.length === 0) return [[name, command]];
  return command.commands.flatMap((c) => (c.name() === "help" ? [] : leaves(c, `${name} `)));
}

describe("--help", () => {
  it("shows examples, the environment each command reads, and its exit codes, on every command", async () => {
    const program = await buildProgram();
    // The checkout's commands join the product's when dist/dev exists; here they are added by hand.
    const names = new Set(program.commands.map((c) => c.name()));
    for (const command of devCommands()) if (!names.has(command.name())) program.addCommand(command);
    const commands = leaves(program);
    expect(commands.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        "vpsie-autoscaler run",
        "vpsie-autoscaler scale",
        "vpsie-autoscaler vpsie nodes",
      ]),
    );
    for (const [name, command] of commands) {
      let text = "";
      command.configureOutput({ writeOut: (s) => (text += s) });
      command.outputHelp();
      for (const section of ["Examples:", "Environment:", "Exit codes:"])
        expect(text.includes(section), `${section} in ${name} --help`).toBe(true);
      expect(text, name).toMatch(/\$ (vpsie-autoscaler|npm|kubectl) /);
    }
  });
});
