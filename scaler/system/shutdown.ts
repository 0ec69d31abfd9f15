/**
 * What a command started that would keep the process alive after it is done (the hosted providers'
 * gRPC server): registered here and stopped once the command returns.
 */
const hooks = new Set<() => void | Promise<void>>();

export function onShutdown(hook: () => void | Promise<void>): void {
  hooks.add(hook);
}

export async function shutdown(): Promise<void> {
  const running = [...hooks];
  hooks.clear();
  await Promise.allSettled(running.map(async (hook) => hook()));
}
