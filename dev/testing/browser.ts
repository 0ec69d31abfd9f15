/**
 * Real Chromium for the console's tests: Debian's package, driven by playwright-core, started with the
 * flags this closed network needs and a fresh profile each launch (Playwright makes one per launch).
 */
import { type Browser, chromium } from "playwright-core";
import { CHROMIUM_ARGS, resolveChromium } from "../toolchain/chromium.js";

export async function launchChromium(): Promise<Browser> {
  const { command } = await resolveChromium();
  return chromium.launch({ executablePath: command, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
