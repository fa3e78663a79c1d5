/**
 * The browser the browser tests drive. By default the Chromium that `@sparticuz/chromium` ships
 * inside its npm package (unpacked to the temp directory on first use), so `npm ci && npm test`
 * needs nothing else on a fresh machine. `SWITCHYARD_CHROMIUM=/usr/bin/chromium` uses a system
 * Chromium instead (Debian's `apt-get install -y chromium`). Never a downloaded browser.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Our own flags, not the package's defaults: those include `--disable-web-security`, which would
 * let a cross-site request through that a real browser refuses. The background-networking flags
 * keep Chromium from calling out of a machine with no internet.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--no-zygote',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const launchBrowser = async (): Promise<Browser> => {
  const system = process.env.SWITCHYARD_CHROMIUM;
  if (system && !existsSync(system)) {
    throw new Error(
      `SWITCHYARD_CHROMIUM=${system} does not exist: unset it to use the bundled Chromium (@sparticuz/chromium), or install one (apt-get install -y chromium)`,
    );
  }
  const executablePath = system ?? (await (await import('@sparticuz/chromium')).default.executablePath());
  return chromium.launch({ executablePath, args: ARGS });
};
